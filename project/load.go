package project

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	jsonnet "github.com/google/go-jsonnet"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/yamljson"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

// ExtVarGitSHA is the external variable that carries the short SHA of the
// project's git HEAD, for tagging images.
const ExtVarGitSHA = "gitSha"

// LoadOptions are the values a project file may refer to: Jsonnet's
// std.extVar(name), or {{ name }} in a YAML string.
type LoadOptions struct {
	// ExtVars holds --ext-str values. gitSha is added from git unless set.
	ExtVars map[string]string
	// Environment selects one of the project's environments, merged over
	// the project; empty loads the project as written.
	Environment string
}

// Loaded is a project read from disk, defaults filled, templates parsed and
// validated.
type Loaded struct {
	*Project
	// File is the path the project was read from, as the user named it.
	File string
	// Templates holds each pool's parsed base job template, by pool name.
	Templates map[string]*jobtemplate.Template
	// TemplateSources names where each pool's template came from: a path
	// relative to the project file, "inline" or "default".
	TemplateSources map[string]string
	// Environment is the environment loaded ("" for the project as
	// written); Environments names every one the file declares, in order.
	Environment  string
	Environments []string

	// parameterSchemas holds each deployment's parameterSchema as
	// validation compiled it, by the deployment's element of Deployments,
	// so the runs resolved from the project (render's Job previews, one
	// per deployment) do not compile it again.
	parameterSchemas map[*v1alpha1.Deployment]*ParameterSchema
}

// Load reads, defaults and validates a project file. Every problem found is
// returned at once as an ErrorList naming the file, field and line.
func Load(path string, opts LoadOptions) (*Loaded, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading project file: %w", err)
	}
	vars := map[string]string{}
	for k, v := range opts.ExtVars {
		vars[k] = v
	}
	if _, ok := vars[ExtVarGitSHA]; !ok {
		if sha := GitSHA(filepath.Dir(path)); sha != "" {
			vars[ExtVarGitSHA] = sha
		}
	}

	e := &errs{file: path}
	var root any
	switch filepath.Ext(path) {
	case ".jsonnet", ".libsonnet":
		js, err := evalJsonnet(path, src, vars)
		if err != nil {
			return nil, err
		}
		if root, err = decodeDocument(js); err != nil {
			return nil, &FieldError{File: path, Msg: "jsonnet: " + err.Error()}
		}
	default:
		e.lines = newLineIndex(src)
		root, err = yamlDocument(src, vars, e)
		if err != nil {
			return nil, &FieldError{File: path, Msg: err.Error()}
		}
		if err := e.err(); err != nil {
			return nil, err
		}
	}
	root, envs, err := selectEnvironment(root, opts.Environment, e)
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(root)
	if err != nil {
		return nil, &FieldError{File: path, Msg: err.Error()}
	}
	if opts.Environment != "" {
		// The merged document's lines are not the file's: errors name the
		// environment and the field instead.
		e = &errs{file: fmt.Sprintf("%s (environment %s)", path, opts.Environment)}
	}
	l, err := decode(path, doc, e)
	if err != nil {
		return nil, err
	}
	l.Environment, l.Environments = opts.Environment, envs
	return l, nil
}

// decode turns the project's JSON into a validated Loaded.
func decode(path string, doc []byte, e *errs) (*Loaded, error) {
	p := &Project{}
	strict, err := kjson.UnmarshalStrict(doc, p, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, &FieldError{File: path, Msg: fmt.Sprintf("not a project: %v", err)}
	}
	for _, s := range strict {
		field, msg := strictField(s.Error())
		e.add(field, "%s", msg)
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	l := &Loaded{Project: p, File: path, Templates: map[string]*jobtemplate.Template{}, TemplateSources: map[string]string{},
		parameterSchemas: map[*v1alpha1.Deployment]*ParameterSchema{}}
	l.loadTemplates(e)
	p.setDefaults()
	l.validate(e)
	l.fillRunOverrides() // after validate: defaults are not the user's to be told about
	if err := e.err(); err != nil {
		return nil, err
	}
	return l, nil
}

var strictFieldRE = regexp.MustCompile(`^(unknown|duplicate) field "([^"]+)"$`)

// strictField pulls the field path out of sigs.k8s.io/json's strict errors,
// which read `unknown field "deployments[0].foo"`.
func strictField(msg string) (string, string) {
	if m := strictFieldRE.FindStringSubmatch(msg); m != nil {
		if m[1] == "unknown" {
			return m[2], "unknown field; check its spelling against the project reference in the README"
		}
		return m[2], "given more than once"
	}
	return "", msg
}

// loadTemplates parses each pool's base job template: a file beside the
// project, an inline object, or the default.
func (l *Loaded) loadTemplates(e *errs) {
	dir := filepath.Dir(l.File)
	for i := range l.Pools {
		pool := &l.Pools[i]
		fld := field.NewPath("pools").Index(i).Child(fieldBaseJobTemplate).String()
		raw := bytes.TrimSpace(pool.BaseJobTemplate)
		var (
			t   *jobtemplate.Template
			err error
			src string
		)
		switch {
		case len(raw) == 0 || string(raw) == "null":
			t, src = jobtemplate.Default(), "default"
		case raw[0] == '"':
			var rel string
			_ = json.Unmarshal(raw, &rel)
			src = rel
			data, rerr := os.ReadFile(filepath.Join(dir, rel))
			if rerr != nil {
				e.add(fld, "cannot read base job template: %v", rerr)
				continue
			}
			t, err = jobtemplate.Parse(data, filepath.Join(dir, rel))
		case raw[0] == '{':
			src = "inline"
			t, err = jobtemplate.Parse(raw, l.File+": "+fld)
		default:
			e.add(fld, "must be a path to a JSON or YAML file, or the template object itself")
			continue
		}
		if err != nil {
			e.add(fld, "%v", err)
			continue
		}
		l.Templates[pool.Name] = t
		l.TemplateSources[pool.Name] = src
	}
}

// setDefaults fills what a project may leave out, so every later reader
// (render, the reconciler) sees one explicit form.
func (p *Project) setDefaults() {
	if p.Reconciler.Replicas == nil {
		r := int32(DefaultReplicas)
		p.Reconciler.Replicas = &r
	}
	for i := range p.Pools {
		pool := &p.Pools[i]
		if pool.Queue(v1alpha1.DefaultQueue) == nil {
			pool.Queues = append(pool.Queues, v1alpha1.Queue{Name: v1alpha1.DefaultQueue})
		}
		for j := range pool.Queues {
			if pool.Queues[j].Priority == 0 {
				pool.Queues[j].Priority = v1alpha1.DefaultQueuePriority
			}
		}
		if pool.RunRetention == nil {
			pool.RunRetention = p.RunRetention
		}
	}
	for i := range p.Deployments {
		d := &p.Deployments[i]
		if d.Queue == "" {
			d.Queue = v1alpha1.DefaultQueue
		}
		if d.CollisionStrategy == "" {
			d.CollisionStrategy = v1alpha1.CollisionEnqueue
		}
	}
}

// evalJsonnet evaluates a Jsonnet project in process; imports resolve
// beside the file.
func evalJsonnet(path string, src []byte, vars map[string]string) ([]byte, error) {
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{filepath.Dir(path)}})
	for k, v := range vars {
		vm.ExtVar(k, v)
	}
	out, err := vm.EvaluateAnonymousSnippet(path, string(src))
	if err != nil {
		return nil, &FieldError{File: path, Msg: "jsonnet: " + strings.TrimSpace(err.Error())}
	}
	return []byte(out), nil
}

var varRE = regexp.MustCompile(`{{\s*([\w.\-]+)\s*}}`)

// yamlDocument reads YAML as the JSON value it stands for, a thousand
// deployments on every core, and fills {{ name }} placeholders from the
// ext vars. Base job templates are left alone: their placeholders are
// Prefect's, filled per run.
func yamlDocument(src []byte, vars map[string]string, e *errs) (any, error) {
	js, err := yamljson.ToJSONStrictSplit(src)
	if err != nil {
		return nil, err
	}
	v, err := decodeDocument(js)
	if err != nil {
		return nil, err
	}
	v = fillVars(v, nil, vars, e)
	return v, nil
}

// decodeDocument decodes a project's JSON, numbers as written: the
// document is merged and written back before the project is read from
// it, and a float64 would change an integer past 2^53 on the way.
func decodeDocument(js []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	return v, dec.Decode(&v)
}

func fillVars(v any, path *field.Path, vars map[string]string, e *errs) any {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // errors come out in a stable order
		for _, k := range keys {
			p := path.Child(k)
			if k == fieldBaseJobTemplate && isTemplatePath(p) {
				continue
			}
			t[k] = fillVars(t[k], p, vars, e)
		}
	case []any:
		for i, c := range t {
			t[i] = fillVars(c, path.Index(i), vars, e)
		}
	case string:
		if !strings.Contains(t, "{{") {
			return v // most strings: no placeholder, no need for the expression
		}
		return varRE.ReplaceAllStringFunc(t, func(m string) string {
			name := varRE.FindStringSubmatch(m)[1]
			if val, ok := vars[name]; ok {
				return val
			}
			known := make([]string, 0, len(vars))
			for k := range vars {
				known = append(known, k)
			}
			sort.Strings(known)
			hint := "pass --ext-str " + name + "=VALUE"
			if name == ExtVarGitSHA {
				hint = "the project is not in a git repository with a commit; pass --ext-str gitSha=VALUE"
			}
			e.add(path.String(), "no value for placeholder %s (known: %s); %s", m, strings.Join(known, ", "), hint)
			return m
		})
	}
	return v
}

// fieldBaseJobTemplate is the last field of every path templatePathRE
// matches.
const fieldBaseJobTemplate = "baseJobTemplate"

var templatePathRE = regexp.MustCompile(`^(environments\[\d+\]\.)?pools\[\d+\]\.baseJobTemplate$`)

func isTemplatePath(p *field.Path) bool { return templatePathRE.MatchString(p.String()) }

// GitSHA returns the short SHA of HEAD of the git repository holding dir,
// or "" when there is none.
func GitSHA(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
