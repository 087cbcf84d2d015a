package jobtemplate

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/entrypoint"
)

var helloRun = Run{
	Name:       "hello-default-7f3k2",
	Namespace:  "flows",
	Flow:       "hello",
	Deployment: "hello/default",
	Entrypoint: "flows/hello.py:hello",
	Parameters: map[string]any{"who": "world", "times": 3, "opts": map[string]any{"z": true, "a": []any{1, "<b>"}}},
	Labels:     map[string]string{"kubectl-flows.dev/run": "hello-default-7f3k2", "kubectl-flows.dev/deployment": "hello.default"},
}

const helloParams = `{"opts":{"a":[1,"<b>"],"z":true},"times":3,"who":"world"}`

func mustParse(t testing.TB, doc string) *Template {
	t.Helper()
	tmpl, err := Parse([]byte(doc), "test")
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func envNames(c corev1.Container) []string {
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
	}
	return names
}

func TestResolveDefault(t *testing.T) {
	r, err := Default().Resolve(map[string]any{
		"image":       "ghcr.io/example/flows:1.0.0",
		"env":         map[string]any{"B": "2", "A": "1"},
		"command":     "python -m flows.run --fast",
		"cpu_request": "500m",
	}, helloRun)
	if err != nil {
		t.Fatal(err)
	}
	job := r.Job
	if job.Name != helloRun.Name || job.GenerateName != "" || job.Namespace != "flows" {
		t.Errorf("metadata = %q %q %q", job.Name, job.GenerateName, job.Namespace)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Errorf("type = %s %s", job.APIVersion, job.Kind)
	}
	c := job.Spec.Template.Spec.Containers[0]
	wantNames := []string{"FLOWS_DEPLOYMENT", "FLOWS_ENTRYPOINT", "FLOWS_FLOW", "FLOWS_PARAMETERS", "FLOWS_RUN_NAME", "A", "B"}
	if got := envNames(c); !reflect.DeepEqual(got, wantNames) {
		t.Errorf("env names = %q, want %q", got, wantNames)
	}
	env := envOf(c)
	want := map[string]string{
		"FLOWS_RUN_NAME":   "hello-default-7f3k2",
		"FLOWS_FLOW":       "hello",
		"FLOWS_DEPLOYMENT": "hello/default",
		"FLOWS_ENTRYPOINT": "flows/hello.py:hello",
		"FLOWS_PARAMETERS": helloParams,
		"A":                "1",
		"B":                "2",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v", env)
	}
	if !reflect.DeepEqual(c.Args, []string{"python", "-m", "flows.run", "--fast"}) || c.Command != nil {
		t.Errorf("args = %q, command = %q", c.Args, c.Command)
	}
	if c.Image != "ghcr.io/example/flows:1.0.0" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image = %q %q", c.Image, c.ImagePullPolicy)
	}
	if q := c.Resources.Requests[corev1.ResourceCPU]; q.String() != "500m" || len(c.Resources.Limits) != 0 {
		t.Errorf("resources = %v", c.Resources)
	}
	if *job.Spec.BackoffLimit != 0 || job.Spec.TTLSecondsAfterFinished != nil || job.Spec.ActiveDeadlineSeconds != nil {
		t.Errorf("spec = %+v", job.Spec)
	}
	for _, labels := range []map[string]string{job.Labels, job.Spec.Template.Labels} {
		if !reflect.DeepEqual(labels, helloRun.Labels) {
			t.Errorf("labels = %v", labels)
		}
	}
	if r.PodWatchTimeout() != time.Minute || r.JobWatchTimeout() != 0 {
		t.Errorf("timeouts = %v %v", r.PodWatchTimeout(), r.JobWatchTimeout())
	}
	if r.Config["stream_output"] != true || r.Config["name"] != helloRun.Name || r.Config["namespace"] != "flows" {
		t.Errorf("config = %v", r.Config)
	}
	if _, ok := r.Config["job_manifest"]; ok {
		t.Error("Config holds job_manifest")
	}
}

func TestResolveVariables(t *testing.T) {
	r, err := Default().Resolve(map[string]any{
		"image":                     "img:1",
		"active_deadline_seconds":   3600,
		"finished_job_ttl":          600,
		"backoff_limit":             2,
		"node_selector":             map[string]string{"pool": "flows"},
		"tolerations":               []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "flows", "effect": "NoSchedule"}},
		"service_account_name":      "runner",
		"image_pull_policy":         "Always",
		"cpu_limit":                 "2",
		"memory_request":            "256Mi",
		"memory_limit":              "1Gi",
		"labels":                    map[string]any{"team": "data", "kubectl-flows.dev/run": "not-this"},
		"annotations":               map[string]any{"example.com/owner": "ana"},
		"job_watch_timeout_seconds": 90,
		"pod_watch_timeout_seconds": 30,
		"namespace":                 "batch",
	}, helloRun)
	if err != nil {
		t.Fatal(err)
	}
	job := r.Job
	spec := job.Spec.Template.Spec
	if *job.Spec.ActiveDeadlineSeconds != 3600 || *job.Spec.TTLSecondsAfterFinished != 600 || *job.Spec.BackoffLimit != 2 {
		t.Errorf("job spec = %+v", job.Spec)
	}
	if !reflect.DeepEqual(spec.NodeSelector, map[string]string{"pool": "flows"}) || spec.ServiceAccountName != "runner" {
		t.Errorf("pod spec = %+v", spec)
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("tolerations = %+v", spec.Tolerations)
	}
	if job.Namespace != "batch" {
		t.Errorf("namespace = %q: the namespace variable wins over Run.Namespace", job.Namespace)
	}
	// Run.Labels win over the labels variable.
	wantLabels := map[string]string{"team": "data", "kubectl-flows.dev/run": "hello-default-7f3k2", "kubectl-flows.dev/deployment": "hello.default"}
	if !reflect.DeepEqual(job.Labels, wantLabels) || !reflect.DeepEqual(job.Spec.Template.Labels, wantLabels) {
		t.Errorf("labels = %v / %v", job.Labels, job.Spec.Template.Labels)
	}
	if !reflect.DeepEqual(job.Annotations, map[string]string{"example.com/owner": "ana"}) ||
		!reflect.DeepEqual(job.Spec.Template.Annotations, job.Annotations) {
		t.Errorf("annotations = %v / %v", job.Annotations, job.Spec.Template.Annotations)
	}
	if r.JobWatchTimeout() != 90*time.Second || r.PodWatchTimeout() != 30*time.Second {
		t.Errorf("timeouts = %v %v", r.JobWatchTimeout(), r.PodWatchTimeout())
	}
}

func TestResolveNamespace(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		runNS  string
		want   string
	}{
		{"schema default when the run has none", nil, "", "default"},
		{"run namespace beats the schema default", nil, "flows", "flows"},
		{"the namespace variable beats the run", map[string]any{"namespace": "batch"}, "flows", "batch"},
		{"null namespace falls back to the run", map[string]any{"namespace": nil}, "flows", "flows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			values := Merge(map[string]any{"image": "x"}, tc.values)
			r, err := Default().Resolve(values, Run{Name: "r", Namespace: tc.runNS})
			if err != nil {
				t.Fatal(err)
			}
			if r.Job.Namespace != tc.want {
				t.Errorf("namespace = %q, want %q", r.Job.Namespace, tc.want)
			}
		})
	}
}

func TestResolveMergeOrder(t *testing.T) {
	pool := map[string]any{"image": "pool:1", "env": map[string]any{"LEVEL": "pool", "POOL": "yes"}, "cpu_request": "1"}
	deploy := map[string]any{"image": "deploy:1", "env": map[string]any{"LEVEL": "deploy", "DEPLOY": "yes"}}
	run := map[string]any{"env": map[string]any{"LEVEL": "run", "POOL": nil}, "cpu_request": nil}
	r, err := Default().Resolve(Merge(pool, deploy, run), Run{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Job.Spec.Template.Spec.Containers[0]
	env := envOf(c)
	if env["LEVEL"] != "run" || env["DEPLOY"] != "yes" {
		t.Errorf("env = %v", env)
	}
	if _, ok := env["POOL"]; ok {
		t.Errorf("a null env entry must remove the variable: %v", env)
	}
	if c.Image != "deploy:1" {
		t.Errorf("image = %q", c.Image)
	}
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		t.Errorf("null cpu_request must unset it: %v", c.Resources)
	}
}

func TestResolveFlowsEnvWins(t *testing.T) {
	r, err := Default().Resolve(map[string]any{
		"image": "x",
		"env":   map[string]any{"FLOWS_RUN_NAME": "spoofed", "FLOWS_PARAMETERS": "{}", "FLOWS_OTHER": "kept"},
	}, helloRun)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Job.Spec.Template.Spec.Containers[0]
	want := []string{"FLOWS_DEPLOYMENT", "FLOWS_ENTRYPOINT", "FLOWS_FLOW", "FLOWS_PARAMETERS", "FLOWS_RUN_NAME", "FLOWS_OTHER"}
	if got := envNames(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("env names = %q", got)
	}
	if env := envOf(c); env["FLOWS_RUN_NAME"] != helloRun.Name || env["FLOWS_PARAMETERS"] != helloParams {
		t.Fatalf("env = %v", env)
	}
}

func TestResolveParameters(t *testing.T) {
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{nil, "{}"},
		{map[string]any{}, "{}"},
		{map[string]any{"b": 1.5, "a": "x&y", "c": nil, "d": map[string]string{"y": "1", "x": "2"}}, `{"a":"x&y","b":1.5,"c":null,"d":{"x":"2","y":"1"}}`},
	} {
		r, err := Default().Resolve(map[string]any{"image": "x"}, Run{Name: "r", Parameters: tc.params})
		if err != nil {
			t.Fatal(err)
		}
		if got := envOf(r.Job.Spec.Template.Spec.Containers[0])[EnvParameters]; got != tc.want {
			t.Errorf("FLOWS_PARAMETERS = %s, want %s", got, tc.want)
		}
	}
}

// A template with several containers: every one gets FLOWS_*; env objects
// become sorted lists; job_configuration.env feeds the first container only
// (Prefect's _populate_env_in_manifest).
func TestResolveContainers(t *testing.T) {
	tmpl := mustParse(t, `{
  "job_configuration": {
    "env": "{{ env }}",
    "job_manifest": {
      "apiVersion": "batch/v1", "kind": "Job",
      "spec": {"template": {"spec": {
        "restartPolicy": "Never",
        "initContainers": [{"name": "init", "image": "busybox", "env": {"Z": "1", "Y": "{{ sidecar_mode }}"}, "command": "sh -c 'echo hi'"}],
        "containers": [
          {"name": "flow", "image": "{{ image }}", "env": [
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
            {"name": "OVERRIDDEN", "value": "template"}
          ]},
          {"name": "sidecar", "image": "proxy:1", "env": {"MODE": "{{ sidecar_mode }}", "PORT": "{{ port }}"}, "args": ["--port={{ port }}"]}
        ]
      }}}
    }
  },
  "variables": {"type": "object", "properties": {
    "env": {"type": "object", "additionalProperties": {"type": "string"}},
    "image": {"type": "string"},
    "sidecar_mode": {"type": "string", "default": "fast"},
    "port": {"type": "integer", "default": 8080}
  }}
}`)
	r, err := tmpl.Resolve(map[string]any{"image": "img", "env": map[string]any{"OVERRIDDEN": "variable", "B": "b", "A": "a"}}, helloRun)
	if err != nil {
		t.Fatal(err)
	}
	spec := r.Job.Spec.Template.Spec
	flow, sidecar, init := spec.Containers[0], spec.Containers[1], spec.InitContainers[0]
	if got, want := envNames(flow), []string{"FLOWS_DEPLOYMENT", "FLOWS_ENTRYPOINT", "FLOWS_FLOW", "FLOWS_PARAMETERS", "FLOWS_RUN_NAME", "A", "B", "OVERRIDDEN", "TOKEN"}; !reflect.DeepEqual(got, want) {
		t.Errorf("flow env = %q, want %q", got, want)
	}
	if envOf(flow)["OVERRIDDEN"] != "variable" || flow.Env[len(flow.Env)-1].ValueFrom == nil {
		t.Errorf("flow env = %+v", flow.Env)
	}
	if got, want := envNames(sidecar), []string{"FLOWS_DEPLOYMENT", "FLOWS_ENTRYPOINT", "FLOWS_FLOW", "FLOWS_PARAMETERS", "FLOWS_RUN_NAME", "MODE", "PORT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sidecar env = %q", got)
	}
	if env := envOf(sidecar); env["MODE"] != "fast" || env["PORT"] != "8080" {
		t.Errorf("sidecar env = %v", env)
	}
	if !reflect.DeepEqual(sidecar.Args, []string{"--port=8080"}) {
		t.Errorf("sidecar args = %q", sidecar.Args)
	}
	if got := envNames(init); !reflect.DeepEqual(got, []string{"Y", "Z"}) {
		t.Errorf("init containers get no FLOWS_* env: %q", got)
	}
	if !reflect.DeepEqual(init.Command, []string{"sh", "-c", "echo hi"}) {
		t.Errorf("init command = %q", init.Command)
	}
}

// Prefect (from_template_and_values): a literal env object in
// job_configuration is merged with the env variable rather than replaced.
func TestResolveLiteralConfigEnv(t *testing.T) {
	tmpl := mustParse(t, `{
  "job_configuration": {
    "env": {"STATIC": "1", "FROM_VAR": "{{ region }}", "SHARED": "template"},
    "job_manifest": {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {
      "restartPolicy": "Never", "containers": [{"name": "flow", "image": "x"}]}}}}
  },
  "variables": {"properties": {
    "env": {"type": "object", "additionalProperties": {"type": "string"}},
    "region": {"type": "string", "default": "eu"}
  }}
}`)
	r, err := tmpl.Resolve(map[string]any{"env": map[string]any{"SHARED": "variable", "EXTRA": "e"}}, Run{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	env := envOf(r.Job.Spec.Template.Spec.Containers[0])
	want := map[string]string{"STATIC": "1", "FROM_VAR": "eu", "SHARED": "variable", "EXTRA": "e"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env[%s] = %q, want %q (env %v)", k, env[k], v, env)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	const unknownField = `{
  "job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job", "spec": {
    "backofLimit": 1,
    "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "flow", "image": "{{ image }}", "imagePolicy": "Always"}]}}}}},
  "variables": {"properties": {"image": {"type": "string"}}}
}`
	const wrongType = `{
  "job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job", "spec": {
    "activeDeadlineSeconds": "{{ deadline }}",
    "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "flow", "image": "x"}]}}}}},
  "variables": {"properties": {"deadline": {"type": "string"}}}
}`
	const noContainers = `{
  "job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {"restartPolicy": "Never"}}}}},
  "variables": {"properties": {}}
}`
	const badCommand = `{
  "job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": {
    "restartPolicy": "Never", "containers": [{"name": "flow", "image": "x", "args": "{{ command }}"}]}}}}},
  "variables": {"properties": {"command": {"type": "string"}}}
}`
	tests := []struct {
		name   string
		tmpl   *Template
		values map[string]any
		run    Run
		want   string
	}{
		{
			"unknown fields name their path", mustParse(t, unknownField), map[string]any{"image": "x"}, Run{Name: "r"},
			"job_configuration.job_manifest.spec.backofLimit: unknown field (not part of a batch/v1 Job)\n" +
				"job_configuration.job_manifest.spec.template.spec.containers[0].imagePolicy: unknown field (not part of a batch/v1 Job)",
		},
		{
			"wrong type for a field", mustParse(t, wrongType), map[string]any{"deadline": "soon"}, Run{Name: "r"},
			"job_configuration.job_manifest is not a valid batch/v1 Job: json: cannot unmarshal string into Go struct field JobSpec.spec.activeDeadlineSeconds of type int64",
		},
		{
			"no containers", mustParse(t, noContainers), nil, Run{Name: "r"},
			"job_configuration.job_manifest.spec.template.spec.containers: the Job has no containers",
		},
		{
			"no image", Default(), nil, Run{Name: "r"},
			`job_configuration.job_manifest.spec.template.spec.containers[0] ("flow") has no image: set the image job variable`,
		},
		{
			"unbalanced quote in command", mustParse(t, badCommand), map[string]any{"command": `python -c "print(1)`}, Run{Name: "r"},
			`job_configuration.job_manifest.spec.template.spec.containers[0].args: no closing quotation (")`,
		},
		{
			"schema error", Default(), map[string]any{"image": "x", "cpu_request": 1}, Run{Name: "r"},
			`job variable "cpu_request": expected string, got number`,
		},
		{
			"unknown variable", Default(), map[string]any{"image": "x", "gpu": "1"}, Run{Name: "r"},
			`unknown job variable "gpu" (known: active_deadline_seconds, annotations, backoff_limit, command, cpu_limit, cpu_request, env, finished_job_ttl, image, image_pull_policy, job_watch_timeout_seconds, labels, memory_limit, memory_request, name, namespace, node_selector, pod_watch_timeout_seconds, run_as_user, service_account_name, stream_output, tolerations)`,
		},
		{"no run name", Default(), map[string]any{"image": "x"}, Run{}, "run has no name (it becomes the Job name)"},
		{
			"bad run name", Default(), map[string]any{"image": "x"}, Run{Name: "Hello_World"},
			`run name "Hello_World" cannot be a Job name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
		{
			"long run name", Default(), map[string]any{"image": "x"}, Run{Name: strings.Repeat("a", 64)},
			`run name "` + strings.Repeat("a", 64) + `" cannot be a Job name: must be no more than 63 characters`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.tmpl.Resolve(tc.values, tc.run)
			if err == nil {
				t.Fatalf("no error; job %+v", r.Job)
			}
			if err.Error() != tc.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// Prefect's default template puts parallelism and completions in the pod
// spec; Kubernetes ignores them there. They must not fail strict decoding.
func TestResolvePrefectPodSpecQuirk(t *testing.T) {
	for _, f := range []string{"testdata/prefect-kubernetes.json", "testdata/prefect-kubernetes-legacy.json"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := Parse(data, f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tmpl.Resolve(map[string]any{"image": "prefecthq/prefect:3-latest"}, helloRun)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if r.Job.Spec.Parallelism != nil || r.Job.Spec.Completions != nil {
			t.Errorf("%s: parallelism/completions moved to the Job spec", f)
		}
	}
}

func TestResolveLabelsSlugified(t *testing.T) {
	r, err := Default().Resolve(map[string]any{
		"image":       "x",
		"labels":      map[string]any{"Team Name": "Data Platform!", "ok": "fine"},
		"annotations": map[string]any{"bad key!": "any value at all: ok"},
	}, Run{Name: "r"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Team-Name": "Data-Platform", "ok": "fine"}
	if !reflect.DeepEqual(r.Job.Labels, want) || !reflect.DeepEqual(r.Job.Spec.Template.Labels, want) {
		t.Errorf("labels = %v / %v", r.Job.Labels, r.Job.Spec.Template.Labels)
	}
	if !reflect.DeepEqual(r.Job.Annotations, map[string]string{"bad-key": "any value at all: ok"}) {
		t.Errorf("annotations = %v", r.Job.Annotations)
	}
}

// Resolving twice, or with maps built in another order, gives the same bytes.
func TestResolveDeterministic(t *testing.T) {
	build := func(reverse bool) (map[string]any, Run) {
		keys := []string{"A", "B", "C", "D", "E", "F", "G", "H"}
		if reverse {
			for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
		env, labels, params := map[string]any{}, map[string]any{}, map[string]any{}
		runLabels := map[string]string{}
		for _, k := range keys {
			env[k] = "v" + k
			labels["l"+strings.ToLower(k)] = k
			params[k] = map[string]any{"x": k, "y": []any{k}}
			runLabels["kubectl-flows.dev/"+strings.ToLower(k)] = k
		}
		run := helloRun
		run.Parameters, run.Labels = params, runLabels
		return map[string]any{"image": "x", "env": env, "labels": labels, "annotations": labels, "node_selector": labels}, run
	}
	var first []byte
	for i := range 20 {
		values, run := build(i%2 == 1)
		r, err := Default().Resolve(values, run)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("resolve %d differs:\n%s\n%s", i, first, b)
		}
	}
}

// Resolve leaves the Template as it was, and may run concurrently.
func TestResolveDoesNotModifyTemplate(t *testing.T) {
	tmpl := Default()
	before, _ := tmpl.MarshalJSON()
	defaults := tmpl.Defaults()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := tmpl.Resolve(map[string]any{"image": "x", "env": map[string]any{"N": string(rune('a' + i))}}, helloRun)
			if err != nil {
				t.Error(err)
				return
			}
			// Scribble over everything the result holds.
			r.Config["stream_output"] = false
			if env, ok := r.Config["env"].(map[string]any); ok {
				env["SCRIBBLE"] = "x"
			}
			r.Job.Spec.Template.Spec.Containers[0].Env = nil
		}()
	}
	wg.Wait()
	after, _ := tmpl.MarshalJSON()
	if !bytes.Equal(before, after) || !reflect.DeepEqual(defaults, tmpl.Defaults()) {
		t.Fatal("Resolve modified the template")
	}
}

func TestResolvedTimeouts(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want time.Duration
	}{
		{nil, 0},
		{float64(60), time.Minute},
		{90, 90 * time.Second},
		{int64(5), 5 * time.Second},
		{json.Number("2.5"), 2500 * time.Millisecond},
		{"60", 0},
		{float64(-1), 0},
	} {
		r := &Resolved{Config: map[string]any{"pod_watch_timeout_seconds": tc.v, "job_watch_timeout_seconds": tc.v}}
		if r.PodWatchTimeout() != tc.want || r.JobWatchTimeout() != tc.want {
			t.Errorf("%#v: got %v %v, want %v", tc.v, r.PodWatchTimeout(), r.JobWatchTimeout(), tc.want)
		}
	}
	var nilR *Resolved
	if nilR.PodWatchTimeout() != 0 {
		t.Error("nil Resolved")
	}
}

func BenchmarkResolve(b *testing.B) {
	tmpl := Default()
	pool := map[string]any{"image": "ghcr.io/example/flows:1.0.0", "env": map[string]any{"LOG_LEVEL": "info"}, "cpu_request": "500m", "memory_request": "256Mi"}
	deploy := map[string]any{"env": map[string]any{"TARGET": "prod"}, "command": "python -m flows.run", "labels": map[string]any{"team": "data"}}
	values := Merge(pool, deploy)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Resolve(values, helloRun); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	tmpl := Default()
	values := map[string]any{"image": "x", "env": map[string]any{"A": "1"}, "cpu_request": "1"}
	b.ReportAllocs()
	for b.Loop() {
		if err := tmpl.Validate(values); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResolveEntrypointRunner: with no command set, the flow container runs
// the entrypoint runner (as Prefect's worker fills in its own command); a
// command set runs instead, an empty one leaves the image's own command,
// and a run without an entrypoint or a template without a command variable
// is left alone.
func TestResolveEntrypointRunner(t *testing.T) {
	image := map[string]any{"image": "ghcr.io/example/flows:1.0.0"}
	args := func(t *testing.T, tmpl *Template, values map[string]any, run Run) []string {
		t.Helper()
		r, err := tmpl.Resolve(values, run)
		if err != nil {
			t.Fatal(err)
		}
		return r.Job.Spec.Template.Spec.Containers[0].Args
	}
	if got := args(t, Default(), image, helloRun); !reflect.DeepEqual(got, entrypoint.Args(entrypoint.Python)) {
		t.Errorf("no command: args %q, want the runner", got)
	}
	if got := args(t, Default(), Merge(image, map[string]any{"command": "python flows/hello.py"}), helloRun); !reflect.DeepEqual(got, []string{"python", "flows/hello.py"}) {
		t.Errorf("command set: args %q", got)
	}
	if got := args(t, Default(), Merge(image, map[string]any{"command": ""}), helloRun); len(got) != 0 {
		t.Errorf(`command "": args %q, want none (the image's own command)`, got)
	}
	noEntrypoint := helloRun
	noEntrypoint.Entrypoint = ""
	if got := args(t, Default(), image, noEntrypoint); len(got) != 0 {
		t.Errorf("no entrypoint: args %q, want none", got)
	}
	fixed := mustParse(t, `{"job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job",
		"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "{{ image }}", "args": ["run"]}]}}}}},
		"variables": {"properties": {"image": {"type": "string"}}}}`)
	if got := args(t, fixed, image, helloRun); !reflect.DeepEqual(got, []string{"run"}) {
		t.Errorf("template without a command variable: args %q", got)
	}
}
