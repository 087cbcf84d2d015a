package project_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

const valid = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: demo
namespace: flows
pools:
  - name: k8s
    queues:
      - name: fast
        priority: 1
concurrencyLimits:
  - tag: db
    limit: 2
deployments:
  - flow: hello
    name: default
    entrypoint: flows/hello.py:hello
    image: example.com/hello:{{ gitSha }}
    pool: k8s
    parameters: {name: world}
`

func write(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var vars = project.LoadOptions{ExtVars: map[string]string{"gitSha": "abc1234"}}

func TestLoadValidDefaults(t *testing.T) {
	l, err := project.Load(write(t, "flows.yaml", valid), vars)
	if err != nil {
		t.Fatal(err)
	}
	pool := l.Pool("k8s")
	if pool.Queue(v1alpha1.DefaultQueue) == nil {
		t.Errorf("pool has no default queue: %+v", pool.Queues)
	}
	d := l.Deployments[0]
	if d.Queue != "default" || d.CollisionStrategy != v1alpha1.CollisionEnqueue {
		t.Errorf("deployment defaults not filled: queue=%q collision=%q", d.Queue, d.CollisionStrategy)
	}
	if d.Image != "example.com/hello:abc1234" {
		t.Errorf("gitSha placeholder not filled: %q", d.Image)
	}
	if *l.Reconciler.Replicas != 2 {
		t.Errorf("replicas default = %d", *l.Reconciler.Replicas)
	}
	if l.TemplateSources["k8s"] != "default" {
		t.Errorf("template source = %q", l.TemplateSources["k8s"])
	}
}

// TestBadInput: every kind of mistake gives one clear error that names the
// file, the field path and (for YAML) the line.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(string) string
		want    []string // substrings of the error
		file    string
		content string
	}{
		{
			name: "unknown field",
			edit: func(s string) string {
				return strings.Replace(s, "    pool: k8s\n", "    pool: k8s\n    jobVaraibles: {}\n", 1)
			},
			want: []string{"flows.yaml:", "deployments[0].jobVaraibles", "unknown field"},
		},
		{
			name: "missing pool",
			edit: func(s string) string { return strings.Replace(s, "    pool: k8s\n", "    pool: kube\n", 1) },
			want: []string{"flows.yaml:18:", "deployments[0].pool", `pool "kube" not found (known: k8s)`},
		},
		{
			name: "missing queue",
			edit: func(s string) string {
				return strings.Replace(s, "    pool: k8s\n", "    pool: k8s\n    queue: slow\n", 1)
			},
			want: []string{"flows.yaml:19:", "deployments[0].queue", `queue "slow" not found in pool "k8s" (known: default, fast)`},
		},
		{
			name: "duplicate pool",
			edit: func(s string) string {
				return strings.Replace(s, "concurrencyLimits:", "  - name: k8s\nconcurrencyLimits:", 1)
			},
			want: []string{"pools[1].name", `duplicate pool "k8s"`},
		},
		{
			name: "duplicate deployment",
			edit: func(s string) string {
				return s + "  - flow: hello\n    name: default\n    entrypoint: x.py:f\n    pool: k8s\n"
			},
			want: []string{"deployments[1].name", `duplicate deployment "hello/default"`},
		},
		{
			name: "invalid name",
			edit: func(s string) string { return strings.Replace(s, "  - flow: hello\n", "  - flow: Hello_World\n", 1) },
			want: []string{"flows.yaml:14:", "deployments[0].flow", "not a valid Kubernetes name"},
		},
		{
			name: "negative limit",
			edit: func(s string) string { return strings.Replace(s, "    limit: 2\n", "    limit: -1\n", 1) },
			want: []string{"flows.yaml:12:", "concurrencyLimits[0].limit", "must not be negative"},
		},
		{
			name: "bad cron",
			edit: func(s string) string { return s + "    schedules:\n      - cron: \"61 * * * *\"\n" },
			want: []string{"flows.yaml:21:", "deployments[0].schedules[0].cron", "61 * * * *"},
		},
		{
			name: "bad timezone",
			edit: func(s string) string {
				return s + "    schedules:\n      - cron: \"0 * * * *\"\n        timezone: Mars/Olympus\n"
			},
			want: []string{"deployments[0].schedules[0].cron", "Mars/Olympus"},
		},
		{
			name: "a schedule's parameters fail the schema",
			edit: func(s string) string {
				return s + "    parameterSchema:\n      type: object\n      properties:\n        name: {type: string}\n" +
					"    schedules:\n      - interval: 1h\n      - cron: \"0 9 * * *\"\n        parameters: {name: 42}\n"
			},
			want: []string{"flows.yaml:27:", "deployments[0].schedules[1].parameters", "schedule 1 of deployment hello/default", `parameter "name"`, "merged over the deployment's"},
		},
		{
			name: "unknown catch-up policy",
			edit: func(s string) string { return s + "    schedules:\n      - interval: 1h\n        catchup: all\n" },
			want: []string{"flows.yaml:22:", "deployments[0].schedules[0].catchup", `must be Latest, None or All, got "all"`},
		},
		{
			name: "maxCatchup without All",
			edit: func(s string) string { return s + "    schedules:\n      - interval: 1h\n        maxCatchup: 5\n" },
			want: []string{"deployments[0].schedules[0].maxCatchup", "catchup: All only"},
		},
		{
			name: "maxCatchup out of range",
			edit: func(s string) string {
				return s + "    schedules:\n      - interval: 1h\n        catchup: All\n        maxCatchup: 1000\n"
			},
			want: []string{"deployments[0].schedules[0].maxCatchup", "must be 1 to 100, got 1000"},
		},
		{
			name: "@every instead of an interval",
			edit: func(s string) string { return s + "    schedules:\n      - cron: \"@every 5m\"\n" },
			want: []string{"deployments[0].schedules[0].cron", "write it as interval"},
		},
		{
			name: "job variables fail the schema",
			edit: func(s string) string { return s + "    jobVariables:\n      backoff_limit: lots\n" },
			want: []string{"deployments[0].jobVariables", "backoff_limit"},
		},
		{
			name: "unknown job variable",
			edit: func(s string) string { return s + "    jobVariables:\n      cpu_requets: \"1\"\n" },
			want: []string{"deployments[0].jobVariables", "cpu_requets"},
		},
		{
			name: "pool runOverrides names no variable",
			edit: func(s string) string {
				return strings.Replace(s, "  - name: k8s\n", "  - name: k8s\n    runOverrides: [env, imagee]\n", 1)
			},
			want: []string{"flows.yaml:7:", "pools[0].runOverrides[1]", `no job variable "imagee"`, `did you mean "image"`},
		},
		{
			name: "deployment runOverrides names no variable",
			edit: func(s string) string { return s + "    runOverrides:\n      - cpu\n" },
			want: []string{"flows.yaml:21:", "deployments[0].runOverrides[0]", `no job variable "cpu"`},
		},
		{
			name: "starts an unknown deployment",
			edit: func(s string) string { return s + "    starts: [hello/defualt]\n" },
			want: []string{"flows.yaml:20:", "deployments[0].starts[0]", `no deployment "hello/defualt"`, `did you mean hello/default?`},
		},
		{
			name: "starts one twice",
			edit: func(s string) string { return s + "    starts: [hello/default, hello/default]\n" },
			want: []string{"deployments[0].starts[1]", "listed twice"},
		},
		{
			name: "starts and its own service account",
			edit: func(s string) string {
				return s + "    starts: [hello/default]\n    jobVariables: {service_account_name: mine}\n"
			},
			want: []string{"deployments[0].jobVariables.service_account_name", "flows-starter-hello-default"},
		},
		{
			name: "tag with a comma",
			edit: func(s string) string { return s + "    tags: [\"x,db\"]\n" },
			want: []string{"flows.yaml:20:", "deployments[0].tags[0]", "must not contain a comma"},
		},
		{
			name: "limit tag not a label value",
			edit: func(s string) string { return strings.Replace(s, "  - tag: db\n", "  - tag: db wide\n", 1) },
			want: []string{"flows.yaml:11:", "concurrencyLimits[0].tag", "valid label"},
		},
		{
			name: "parameters fail the schema",
			edit: func(s string) string {
				return s + "    parameterSchema:\n      type: object\n      properties:\n        name: {type: integer}\n"
			},
			want: []string{"deployments[0].parameters", `parameter "name": expected integer, got string`},
		},
		{
			name: "parameterSchema not a schema",
			edit: func(s string) string {
				return s + "    parameterSchema:\n      type: object\n      properties:\n        name: {type: strin}\n"
			},
			want: []string{"deployments[0].parameterSchema", "parameterSchema is not a valid JSON Schema", "properties.name.type"},
		},
		{
			name: "template placeholder with no variable",
			edit: func(s string) string {
				return withInlineTemplate(s, `image: "{{ imagee }}"`, "image: {type: string}")
			},
			want: []string{"pools[0].baseJobTemplate", "imagee"},
		},
		{
			name: "missing ext var",
			edit: func(s string) string { return strings.Replace(s, "{{ gitSha }}", "{{ release }}", 1) },
			want: []string{"deployments[0].image", "{{ release }}", "--ext-str release=VALUE"},
		},
		{
			name: "wrong kind",
			edit: func(s string) string { return strings.Replace(s, "kind: Project", "kind: Projekt", 1) },
			want: []string{"flows.yaml:2:", "kind", `must be "Project"`},
		},
		{
			name: "yaml syntax",
			edit: func(s string) string { return s + "  - flow: [\n" },
			want: []string{"flows.yaml", "line"},
		},
		{
			name:    "jsonnet error",
			file:    "flows.jsonnet",
			content: "{ apiVersion: 'kubectl-flows.dev/v1alpha1', kind: 'Project', name: std.extVar('nope') }",
			want:    []string{"flows.jsonnet", "jsonnet", "nope"},
		},
		{
			name:    "jsonnet validation error",
			file:    "flows.jsonnet",
			content: "{ apiVersion: 'kubectl-flows.dev/v1alpha1', kind: 'Project', name: 'x', namespace: 'y', pools: [{name: 'p', concurrencyLimit: -3}] }",
			want:    []string{"flows.jsonnet: pools[0].concurrencyLimit", "must not be negative"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file, content := tc.file, tc.content
			if file == "" {
				file, content = "flows.yaml", tc.edit(valid)
			}
			_, err := project.Load(write(t, file, content), vars)
			if err == nil {
				t.Fatalf("no error for:\n%s", content)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestJsonnetExtVars(t *testing.T) {
	src := `{
  apiVersion: 'kubectl-flows.dev/v1alpha1', kind: 'Project', name: 'j', namespace: 'j',
  pools: [{ name: 'p' }],
  deployments: [{ flow: 'f', name: std.extVar('env'), entrypoint: 'a.py:f', pool: 'p',
                  image: 'img:' + std.extVar('gitSha') }],
}`
	l, err := project.Load(write(t, "flows.jsonnet", src), project.LoadOptions{ExtVars: map[string]string{"gitSha": "feed123", "env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := l.Deployments[0]; d.Name != "prod" || d.Image != "img:feed123" {
		t.Fatalf("ext vars not applied: %+v", d)
	}
}

func TestJobName(t *testing.T) {
	short := "hello-default-abc"
	if got := v1alpha1.JobName(short); got != short {
		t.Errorf("v1alpha1.JobName(%q) = %q", short, got)
	}
	long := strings.Repeat("a", 60) + "-x-1"
	long2 := strings.Repeat("a", 60) + "-x-2"
	a, b := v1alpha1.JobName(long), v1alpha1.JobName(long2)
	if len(a) > 63 || len(b) > 63 || a == b {
		t.Errorf("long names: %q (%d) %q (%d)", a, len(a), b, len(b))
	}
	if v1alpha1.JobName(long) != a {
		t.Error("v1alpha1.JobName is not deterministic")
	}
}

// TestRunOverridesLoaded: a pool that names no runOverrides gets the
// default set (only the variables its template declares), an empty list
// stays empty, and a deployment's names are added to its pool's.
func TestRunOverridesLoaded(t *testing.T) {
	src := strings.Replace(valid, "pools:\n", "pools:\n  - name: locked\n    runOverrides: []\n", 1) +
		"    runOverrides: [active_deadline_seconds, env]\n" +
		"  - {flow: hello, name: locked, entrypoint: x.py:f, pool: locked, runOverrides: [image]}\n"
	l, err := project.Load(write(t, "flows.yaml", src), vars)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Pool("k8s").RunOverrides, project.DefaultRunOverrides(); !reflect.DeepEqual(got, want) {
		t.Errorf("default pool runOverrides = %v, want %v", got, want)
	}
	if got := l.Pool("locked").RunOverrides; got == nil || len(got) != 0 {
		t.Errorf("an empty runOverrides must stay empty (not nil), got %#v", got)
	}
	want := []string{"active_deadline_seconds", "cpu_limit", "cpu_request", "env", "memory_limit", "memory_request"}
	if got := project.RunOverrides(l.Pool("k8s"), &l.Deployments[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("RunOverrides = %v, want %v", got, want)
	}
	if got := project.RunOverrides(l.Pool("locked"), &l.Deployments[1]); !reflect.DeepEqual(got, []string{"image"}) {
		t.Errorf("RunOverrides of a locked pool = %v, want [image]", got)
	}

	// A template that declares only some of the default set gets only those.
	custom := withInlineTemplate(valid, "image: \"{{ image }}\"\n                    env: \"{{ env }}\"", "image: {type: string}\n          env: {type: object}")
	l, err = project.Load(write(t, "flows.yaml", custom), vars)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Pool("k8s").RunOverrides; !reflect.DeepEqual(got, []string{"env"}) {
		t.Errorf("runOverrides of a template with only image and env = %v, want [env]", got)
	}
}

// withInlineTemplate gives the first pool of project src an inline base job
// template: one container with the given fields (indented as its first
// one) and the given variables.properties.
func withInlineTemplate(src, container, properties string) string {
	return strings.Replace(src, "  - name: k8s\n", `  - name: k8s
    baseJobTemplate:
      job_configuration:
        job_manifest:
          apiVersion: batch/v1
          kind: Job
          spec:
            template:
              spec:
                containers:
                  - name: flow
                    `+container+`
      variables:
        type: object
        properties:
          `+properties+"\n", 1)
}

// A parameterSchema comes from a project file that render may be given in
// CI: a $ref to a file or URL is refused, naming the deployment's field,
// and nothing is read. The file referred to holds a schema the parameters
// match, so reading it would make Load succeed.
func TestParameterSchemaRefOutsideIsRefused(t *testing.T) {
	target := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(target, []byte(`{"type": "object"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"file://" + target, "file:///etc/passwd", "https://example.com/schema.json", filepath.Base(target)} {
		t.Run(ref, func(t *testing.T) {
			src := valid + "    parameterSchema: {$ref: \"" + ref + "\"}\n"
			file := write(t, "flows.yaml", src)
			if ref == filepath.Base(target) { // relative to the project file
				if err := os.WriteFile(filepath.Join(filepath.Dir(file), ref), []byte(`{"type": "object"}`), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := project.Load(file, vars)
			if err == nil {
				t.Fatalf("a parameterSchema referring to %s was accepted", ref)
			}
			for _, w := range []string{"deployments[0].parameterSchema", "parameterSchema refers to", ref, "outside itself", "no file or URL is read"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestLoadKeepsLargeIntegers: a YAML project is decoded and written back
// before it is read; an integer past 2^53 must come through as written.
// (Jsonnet's numbers are doubles: there, the language itself rounds it.)
func TestLoadKeepsLargeIntegers(t *testing.T) {
	content := strings.Replace(valid, "parameters: {name: world}", "parameters: {name: world, id: 9007199254740993}", 1)
	l, err := project.Load(write(t, "flows.yaml", content), vars)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Deployments[0].Parameters["id"]; got != int64(9007199254740993) {
		t.Errorf("parameters.id = %v (%T), want 9007199254740993", got, got)
	}
}

// TestLoadReadsKeysAsWritten: YAML 1.1 reads an unquoted n, y, on or off
// as a boolean; a parameter so named keeps its name.
func TestLoadReadsKeysAsWritten(t *testing.T) {
	content := strings.Replace(valid, "parameters: {name: world}", "parameters: {name: world, n: 3, y: 4, off: 5}", 1)
	l, err := project.Load(write(t, "flows.yaml", content), vars)
	if err != nil {
		t.Fatal(err)
	}
	p := l.Deployments[0].Parameters
	if p["n"] != int64(3) || p["y"] != int64(4) || p["off"] != int64(5) || len(p) != 4 {
		t.Errorf("parameters = %v, want name, n, y and off", p)
	}
}

// TestDeploymentErrorsInFileOrder: deployments are checked on every core,
// yet every error of a project comes out in file order, the same list on
// every load, a deployment's name problems before its other ones.
func TestDeploymentErrorsInFileOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: kubectl-flows.dev/v1alpha1\nkind: Project\nname: demo\nnamespace: flows\npools: [{name: k8s}]\ndeployments:\n")
	var want []string
	for i := range 40 {
		switch i % 4 {
		case 0: // a pool that does not exist
			fmt.Fprintf(&b, "  - {flow: f, name: d%d, entrypoint: f.py:main, image: example.com/f:1, pool: nope}\n", i)
			want = append(want, fmt.Sprintf("deployments[%d].pool", i))
		case 1: // the name of the one before, and no entrypoint
			fmt.Fprintf(&b, "  - {flow: f, name: d%d, image: example.com/f:1, pool: k8s}\n", i-1)
			want = append(want, fmt.Sprintf("deployments[%d].name", i), fmt.Sprintf("deployments[%d].entrypoint", i))
		default:
			fmt.Fprintf(&b, "  - {flow: f, name: d%d, entrypoint: f.py:main, image: example.com/f:1, pool: k8s}\n", i)
		}
	}
	file := write(t, "flows.yaml", b.String())
	var first string
	for range 20 {
		_, err := project.Load(file, vars)
		if err == nil {
			t.Fatal("want errors")
		}
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("the errors changed between loads:\n%s\n---\n%s", first, err)
		}
	}
	at := 0
	for _, w := range want {
		i := strings.Index(first[at:], w)
		if i < 0 {
			t.Fatalf("%s missing or out of file order in:\n%s", w, first)
		}
		at += i + len(w)
	}
}
