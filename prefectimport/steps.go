package prefectimport

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// gitSHA is how flows.yaml writes the short SHA of the project's HEAD.
var gitSHA = "{{ " + project.ExtVarGitSHA + " }}"

// stepContext holds the outputs of a deployment's build steps, as
// `prefect deploy` makes them available to templates: under the step's id
// ({{ build-image.image }}) and without it ({{ image }}).
type stepContext struct {
	outputs map[string]string
}

func (s *stepContext) set(id, key, value string) {
	s.outputs[key] = value
	if id != "" {
		s.outputs[id+"."+key] = value
	}
}

var gitRevParseRE = regexp.MustCompile(`^\s*git\s+rev-parse\s+(--short(?:=\d+)?\s+)?HEAD\s*$`)

// steps works out the outputs of the build steps that image templates use,
// and reports every step once: images are built by CI here, and the
// report gives the docker command that does what the step did.
func (c *converter) steps(sections map[string]node) *stepContext {
	ctx := &stepContext{outputs: map[string]string{}}
	for _, section := range []string{"build", "push", "pull"} {
		v, ok := sections[section]
		if !ok || v.isNull() {
			continue
		}
		steps := v.items()
		if v.isMap() {
			steps = []node{v}
		}
		for _, st := range steps {
			pairs := st.pairs()
			if len(pairs) != 1 {
				c.report(st, "%s step: want one mapping of the step's function to its inputs; ignored", section)
				continue
			}
			fqn, inputs := pairs[0].key, pairs[0].val
			c.step(ctx, section, st, fqn, inputs)
		}
	}
	return ctx
}

// report warns about a step once, however many deployments share it.
func (c *converter) report(at node, format string, args ...any) {
	if c.reported[at.n] {
		return
	}
	c.reported[at.n] = true
	c.warn(at, format, args...)
}

func (c *converter) step(ctx *stepContext, section string, st node, fqn string, in node) {
	id, _ := get(in, "id").str()
	text := func(key string) string {
		v, ok := ctx.resolve(c, get(in, key))
		if !ok {
			return ""
		}
		s, _ := v.(string)
		return s
	}
	short := fqn[strings.LastIndex(fqn, ".")+1:]
	switch short {
	case "run_shell_script":
		script := text("script")
		if m := gitRevParseRE.FindStringSubmatch(script); m != nil {
			ctx.set(id, "stdout", gitSHA)
			note := ""
			if m[1] == "" {
				note = " (the short SHA: flows.yaml has no full one)"
			}
			c.report(st, "%s step %s (%s): its output is %s in flows.yaml%s", section, fqn, script, gitSHA, note)
			return
		}
		c.report(st, "%s step %s: kubectl flows runs no build steps; run it in CI before building the image: %s", section, fqn, script)
	case "build_docker_image":
		name := text("image_name")
		tag := text("tag")
		if !get(in, "tag").ok() {
			tag = gitSHA
			c.report(get(in, "image_name"), "build_docker_image has no tag: Prefect tags with the build time; imported as %s", gitSHA)
		}
		if name == "" {
			c.report(st, "%s step %s has no image_name; the deployments' image cannot be worked out", section, fqn)
			return
		}
		ctx.set(id, "image_name", name)
		ctx.set(id, "tag", tag)
		ctx.set(id, "image", name+":"+tag)
		line := "docker build -t " + name + ":" + tag
		if df := text("dockerfile"); df == "auto" {
			c.report(get(in, "dockerfile"), "dockerfile: auto makes Prefect write a Dockerfile; write your own (kubectl flows init scaffolds one)")
		} else if df != "" && df != "Dockerfile" {
			line += " -f " + df
		}
		if p := text("platform"); p != "" {
			line += " --platform " + p
		}
		if args, ok := ctx.value(c, get(in, "buildargs")).(map[string]any); ok {
			keys := make([]string, 0, len(args))
			for k := range args {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				line += fmt.Sprintf(" --build-arg %s=%v", k, args[k])
			}
		}
		c.report(st, "%s step %s: images are built by CI, not by kubectl flows; the same build: %s .", section, fqn, shellImage(line))
	case "push_docker_image":
		image := text("image_name")
		if tag := text("tag"); tag != "" && image != "" {
			image += ":" + tag
		}
		if image == "" {
			image = ctx.outputs["image"]
		}
		c.report(st, "%s step %s: images are pushed by CI; the same push: docker push %s", section, fqn, shellImage(image))
	case "git_clone", "pull_from_remote_storage", "pull_with_block":
		c.report(st, "%s step %s: no equivalent: the image holds the flow code (COPY it in the Dockerfile), and entrypoints are relative to the image's working directory", section, fqn)
	case "set_working_directory":
		c.report(st, "%s step %s: no equivalent: make %s the image's WORKDIR; entrypoints are relative to it", section, fqn, text("directory"))
	default:
		c.report(st, "%s step %s: no equivalent (kubectl flows runs no deployment steps); not imported", section, fqn)
	}
}

// shellImage writes flows.yaml's placeholders for a shell: the git SHA as
// git gives it, ext vars as environment variables.
func shellImage(s string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if name == project.ExtVarGitSHA {
			return "$(git rev-parse --short HEAD)"
		}
		return "$" + name
	})
}

var placeholderRE = regexp.MustCompile(`{{\s*([\w.\-$\[\]]+)\s*}}`)

// resolve fills a value's Prefect placeholders; ok is false when one
// cannot be, and the value is dropped (with a warning).
func (s *stepContext) resolve(c *converter, v node) (any, bool) {
	if str, isStr := v.str(); isStr {
		return s.text(c, v, str)
	}
	return s.value(c, v), true
}

// value converts a node to plain values, placeholders filled; map entries
// and list items whose placeholders cannot be are dropped.
func (s *stepContext) value(c *converter, v node) any {
	switch {
	case v.isMap():
		m := map[string]any{}
		for _, kv := range v.pairs() {
			if x, ok := s.resolve(c, kv.val); ok {
				m[kv.key] = x
			}
		}
		return m
	case v.isSeq():
		l := []any{}
		for _, it := range v.items() {
			if x, ok := s.resolve(c, it); ok {
				l = append(l, x)
			}
		}
		return l
	}
	if str, ok := v.str(); ok {
		x, _ := s.text(c, v, str)
		return x
	}
	return v.scalar()
}

func (s *stepContext) text(c *converter, at node, str string) (any, bool) {
	ok := true
	out := placeholderRE.ReplaceAllStringFunc(str, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		switch {
		case strings.HasPrefix(name, "$"):
			env := name[1:]
			if val, set := c.o.Env(env); set {
				c.warn(at, "%s is taken from the environment of this import: %q", m, val)
				return val
			}
			c.warn(at, "%s: %s is not set; flows.yaml has {{ %s }}: render with --ext-str %s=VALUE", m, env, env, env)
			return "{{ " + env + " }}"
		case strings.HasPrefix(name, "prefect.variables."):
			v := strings.TrimPrefix(name, "prefect.variables.")
			c.warn(at, "%s: Prefect variables need a Prefect server; flows.yaml has {{ %s }}: render with --ext-str %s=VALUE, or write the value in", m, v, v)
			return "{{ " + v + " }}"
		case strings.HasPrefix(name, "prefect.blocks."):
			c.warn(at, "%s: Prefect blocks need a Prefect server; keep the secret in a Kubernetes Secret and give it to the flow as an env entry with valueFrom in the pool's base job template; value dropped", m)
			ok = false
			return m
		}
		if val, found := s.outputs[name]; found {
			return val
		}
		c.warn(at, "%s: no build step output of that name (kubectl flows runs no steps); value dropped", m)
		ok = false
		return m
	})
	return out, ok
}
