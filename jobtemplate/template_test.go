package jobtemplate

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// tmpl builds a template document around a manifest spec and variables.
func tmplJSON(containers, properties string) string {
	return `{"job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job",
  "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": ` + containers + `}}}}},
 "variables": {"type": "object", "properties": ` + properties + `}}`
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // whole message
	}{
		{"empty", "  \n", "src: empty base job template"},
		{"array", `[1]`, "src: a base job template must be an object with job_configuration and variables, got array"},
		{"yaml scalar", `hello`, "src: a base job template must be an object with job_configuration and variables, got string"},
		{"bad json", "{\n  \"a\": 1,\n  \"b\" 2\n}", "src: invalid JSON: line 3, column 7: invalid character '2' after object key"},
		{"trailing json", `{} {}`, "src: invalid JSON: data after the template object"},
		{"bad yaml", "a: [", "src: invalid YAML: error converting YAML to JSON: yaml: line 1: did not find expected node content"},
		{"missing job_configuration", `{"variables": {}}`, "src: missing job_configuration"},
		{"job_configuration not object", `{"job_configuration": [], "variables": {}}`, "src: job_configuration must be an object, got array"},
		{"missing job_manifest", `{"job_configuration": {"command": "x"}, "variables": {}}`, "src: missing job_configuration.job_manifest (a batch/v1 Job)"},
		{"job_manifest a string", `{"job_configuration": {"job_manifest": "{{ manifest }}"}, "variables": {}}`, "src: job_configuration.job_manifest must be an object (a batch/v1 Job), got string"},
		{"not a Job", `{"job_configuration": {"job_manifest": {"apiVersion": "v1", "kind": "Pod"}}, "variables": {}}`, `src: job_configuration.job_manifest must be apiVersion batch/v1, kind Job; got apiVersion "v1", kind "Pod"`},
		{"old batch version", `{"job_configuration": {"job_manifest": {"apiVersion": "batch/v1beta1", "kind": "Job"}}, "variables": {}}`, `src: job_configuration.job_manifest must be apiVersion batch/v1, kind Job; got apiVersion "batch/v1beta1", kind "Job"`},
		{"no kind", `{"job_configuration": {"job_manifest": {"apiVersion": "batch/v1"}}, "variables": {}}`, `src: job_configuration.job_manifest must be apiVersion batch/v1, kind Job; got apiVersion "batch/v1", kind (none)`},
		{"missing variables", `{"job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job"}}}`, "src: missing variables (the JSON Schema of the job variables)"},
		{"variables not object", `{"job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job"}}, "variables": true}`, "src: variables must be a JSON Schema object, got boolean"},
		{"properties not object", `{"job_configuration": {"job_manifest": {"apiVersion": "batch/v1", "kind": "Job"}}, "variables": {"properties": []}}`, "src: variables.properties must be an object, got array"},
		{"whole work pool pasted", `{"name": "pool", "base_job_template": {}}`, `src: unexpected top-level key "base_job_template": a base job template has only job_configuration and variables (this looks like a whole work pool; use the value of its base_job_template)`},
		{
			"invalid schema",
			tmplJSON(`[]`, `{"image": {"type": "text"}}`),
			"src: variables.properties.image.type is not a valid JSON Schema: expected array, got string\n" +
				`src: variables.properties.image.type is not a valid JSON Schema: must be one of "array", "boolean", "integer", "null", "number", "object", "string", got "text"`,
		},
		{
			"remote $ref",
			tmplJSON(`[]`, `{"image": {"$ref": "https://example.com/image.json"}}`),
			`src: variables refers to "https://example.com/image.json" outside itself: a $ref must point inside the schema (#/...): no file or URL is read`,
		},
		{
			"default violates the schema",
			tmplJSON(`[]`, `{"backoff_limit": {"type": "integer", "default": "six"}}`),
			`src: variables: default of job variable "backoff_limit": expected integer, got string`,
		},
		{
			"unknown placeholder, with its path",
			tmplJSON(`[{"name": "main", "image": "{{ imagee }}"}]`, `{"image": {"type": "string"}, "env": {"type": "object"}}`),
			`src: job_configuration.job_manifest.spec.template.spec.containers[0].image: placeholder {{ imagee }} names no variable "imagee"; did you mean "image"? (known: env, image)`,
		},
		{
			"dotted placeholder checks its first segment",
			tmplJSON(`[{"name": "main", "image": "{{ images.main }}", "env": [{"name": "A", "value": "{{ env.A }}"}]}]`, `{"image": {"type": "string"}, "env": {"type": "object"}}`),
			`src: job_configuration.job_manifest.spec.template.spec.containers[0].image: placeholder {{ images.main }} names no variable "images"; did you mean "image"? (known: env, image)`,
		},
		{
			"every unknown placeholder is reported, in document order",
			tmplJSON(`[{"name": "{{ b }}", "image": "{{ a }}:{{ c }}"}]`, `{}`),
			"src: job_configuration.job_manifest.spec.template.spec.containers[0].image: placeholder {{ a }} names no variable \"a\" (variables.properties declares none)\n" +
				"src: job_configuration.job_manifest.spec.template.spec.containers[0].image: placeholder {{ c }} names no variable \"c\" (variables.properties declares none)\n" +
				`src: job_configuration.job_manifest.spec.template.spec.containers[0].name: placeholder {{ b }} names no variable "b" (variables.properties declares none)`,
		},
		{
			"Prefect block placeholder",
			tmplJSON(`[{"name": "main", "image": "{{ prefect.blocks.secret.registry }}/flows"}]`, `{"image": {"type": "string"}}`),
			`src: job_configuration.job_manifest.spec.template.spec.containers[0].image: placeholder {{ prefect.blocks.secret.registry }} references a Prefect block, which kubectl-flows cannot resolve (there is no Prefect API); declare a variable instead, or read a Secret with valueFrom.secretKeyRef (known: image)`,
		},
		{
			"Prefect variable placeholder",
			tmplJSON(`[{"name": "main", "image": "{{ prefect.variables.image }}"}]`, `{"image": {"type": "string"}}`),
			`src: job_configuration.job_manifest.spec.template.spec.containers[0].image: placeholder {{ prefect.variables.image }} references a Prefect variable, which kubectl-flows cannot resolve (there is no Prefect API); declare a job variable instead (known: image)`,
		},
		{
			"environment placeholder",
			tmplJSON(`[{"name": "main", "image": "{{ $REGISTRY }}/flows"}]`, `{"image": {"type": "string"}}`),
			`src: job_configuration.job_manifest.spec.template.spec.containers[0].image: placeholder {{ $REGISTRY }} reads an environment variable of the Prefect worker, which kubectl-flows does not do (rendering must not depend on the machine); declare a job variable instead (known: image)`,
		},
		{
			"flow-run context placeholder",
			tmplJSON(`[{"name": "{{ ctx.flow_run.name }}", "image": "x"}]`, `{"image": {"type": "string"}}`),
			`src: job_configuration.job_manifest.spec.template.spec.containers[0].name: placeholder {{ ctx.flow_run.name }} references the flow-run context, which Prefect only renders inside the value of the name job variable; declare a job variable instead (known: image)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Parse([]byte(tc.in), "src")
			if err == nil {
				t.Fatalf("no error (template %v)", tmpl.VariableNames())
			}
			if err.Error() != tc.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestParseYAMLAndJSONAgree(t *testing.T) {
	y := `
job_configuration:
  stream_output: "{{ stream_output }}"
  job_manifest:
    apiVersion: batch/v1
    kind: Job
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: main
            image: "{{ image }}"
variables:
  type: object
  properties:
    image: {type: string, default: "busybox:1"}
    stream_output: {type: boolean, default: true}
`
	j := `{"variables": {"properties": {"stream_output": {"default": true, "type": "boolean"}, "image": {"type": "string", "default": "busybox:1"}}, "type": "object"},
	"job_configuration": {"job_manifest": {"kind": "Job", "apiVersion": "batch/v1", "spec": {"template": {"spec": {"containers": [{"image": "{{ image }}", "name": "main"}], "restartPolicy": "Never"}}, "backoffLimit": 2}}, "stream_output": "{{ stream_output }}"}}`
	ty, err := Parse([]byte(y), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tj, err := Parse([]byte(j), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	by, _ := ty.MarshalJSON()
	bj, _ := tj.MarshalJSON()
	if !bytes.Equal(by, bj) {
		t.Fatalf("YAML and JSON differ:\n%s\n%s", by, bj)
	}
	const want = `{"job_configuration":{"job_manifest":{"apiVersion":"batch/v1","kind":"Job","spec":{"backoffLimit":2,"template":{"spec":{"containers":[{"image":"{{ image }}","name":"main"}],"restartPolicy":"Never"}}}},"stream_output":"{{ stream_output }}"},"variables":{"properties":{"image":{"default":"busybox:1","type":"string"},"stream_output":{"default":true,"type":"boolean"}},"type":"object"}}`
	if string(bj) != want {
		t.Fatalf("MarshalJSON:\n%s\nwant\n%s", bj, want)
	}

	// ParseValue takes an already decoded document.
	tv, err := ParseValue(map[string]any{
		"job_configuration": map[string]any{
			"stream_output": "{{ stream_output }}",
			"job_manifest": map[string]any{"apiVersion": "batch/v1", "kind": "Job", "spec": map[string]any{"backoffLimit": 2,
				"template": map[string]any{"spec": map[string]any{"restartPolicy": "Never", "containers": []map[string]any{{"name": "main", "image": "{{ image }}"}}}}}},
		},
		"variables": map[string]any{"type": "object", "properties": map[string]any{
			"image":         map[string]string{"type": "string", "default": "busybox:1"},
			"stream_output": map[string]any{"type": "boolean", "default": true},
		}},
	}, "value")
	if err != nil {
		t.Fatal(err)
	}
	if bv, _ := tv.MarshalJSON(); !bytes.Equal(bv, bj) {
		t.Fatalf("ParseValue differs:\n%s", bv)
	}
}

// MarshalJSON output parses back to a template with identical output: a
// template can be stored in a ConfigMap and read back.
func TestMarshalJSONRoundTrip(t *testing.T) {
	for _, f := range []string{"default.json", "testdata/prefect-kubernetes.json", "testdata/prefect-kubernetes-legacy.json"} {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			t1, err := Parse(data, f)
			if err != nil {
				t.Fatal(err)
			}
			b1, _ := t1.MarshalJSON()
			t2, err := Parse(b1, "stored")
			if err != nil {
				t.Fatal(err)
			}
			b2, _ := t2.MarshalJSON()
			if !bytes.Equal(b1, b2) {
				t.Fatalf("round trip changed the template:\n%s\n%s", b1, b2)
			}
			if bytes.ContainsAny(b1, "\n\t") {
				t.Fatal("MarshalJSON is not compact")
			}
			// A change of key order or layout does not change the canonical form.
			ind, err := t1.MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			t3, err := Parse(ind, "indented")
			if err != nil {
				t.Fatal(err)
			}
			if b3, _ := t3.MarshalJSON(); !bytes.Equal(b1, b3) {
				t.Fatal("indented form parses to a different template")
			}
		})
	}
}

func TestVariableNamesAndDefaults(t *testing.T) {
	d := Default()
	want := []string{
		"active_deadline_seconds", "annotations", "backoff_limit", "command", "cpu_limit", "cpu_request",
		"env", "finished_job_ttl", "image", "image_pull_policy", "job_watch_timeout_seconds", "labels",
		"memory_limit", "memory_request", "name", "namespace", "node_selector", "pod_watch_timeout_seconds",
		"run_as_user", "service_account_name", "stream_output", "tolerations",
	}
	if got := d.VariableNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("VariableNames = %q", got)
	}
	wantDefaults := map[string]any{
		"active_deadline_seconds":   nil,
		"backoff_limit":             float64(0),
		"command":                   nil,
		"cpu_limit":                 nil,
		"cpu_request":               nil,
		"finished_job_ttl":          nil,
		"image":                     nil,
		"image_pull_policy":         "IfNotPresent",
		"job_watch_timeout_seconds": nil,
		"memory_limit":              nil,
		"memory_request":            nil,
		"name":                      nil,
		"namespace":                 "default",
		"pod_watch_timeout_seconds": float64(60),
		"run_as_user":               nil,
		"service_account_name":      nil,
		"stream_output":             true,
	}
	got := d.Defaults()
	if !reflect.DeepEqual(got, wantDefaults) {
		t.Errorf("Defaults = %#v", got)
	}
	got["namespace"] = "changed"
	d.VariableNames()[0] = "changed"
	if Default().Defaults()["namespace"] != "default" || Default().VariableNames()[0] != "active_deadline_seconds" {
		t.Error("Defaults/VariableNames return shared state")
	}
}

// Prefect's own default variables keep their names, so a template exported
// from a Prefect Kubernetes pool renders with the same job variables.
func TestDefaultKeepsPrefectVariables(t *testing.T) {
	data, err := os.ReadFile("testdata/prefect-kubernetes.json")
	if err != nil {
		t.Fatal(err)
	}
	prefect, err := Parse(data, "prefect")
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{}
	for _, n := range Default().VariableNames() {
		ours[n] = true
	}
	for _, n := range prefect.VariableNames() {
		if n == "cluster_config" {
			continue // a Prefect block for the worker's own API access; the reconciler runs in-cluster
		}
		if !ours[n] {
			t.Errorf("Prefect variable %q is missing from the default template", n)
		}
	}
	// Same defaults too.
	pd := prefect.Defaults()
	for n, v := range pd {
		if n == "cluster_config" {
			continue
		}
		if dv := Default().Defaults()[n]; !reflect.DeepEqual(dv, v) {
			t.Errorf("default of %q: ours %v, Prefect's %v", n, dv, v)
		}
	}
}

func TestDefaultJSONIsPrettyAndCanonical(t *testing.T) {
	ind, err := Default().MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(DefaultJSON(), ind) {
		t.Fatal("default.json is not in canonical pretty form; run go test ./jobtemplate/ -run TestGolden -update")
	}
	if !strings.HasPrefix(string(DefaultJSON()), "{\n  \"job_configuration\": {\n") {
		t.Fatal("default.json is not indented with two spaces")
	}
}

func TestHasVariable(t *testing.T) {
	d := Default()
	if err := d.HasVariable("cpu_request"); err != nil {
		t.Errorf("cpu_request: %v", err)
	}
	err := d.HasVariable("imagee")
	if err == nil || !strings.Contains(err.Error(), `no job variable "imagee"`) || !strings.Contains(err.Error(), `did you mean "image"`) {
		t.Errorf("imagee: %v", err)
	}
}

func TestVariableOf(t *testing.T) {
	for in, want := range map[string]string{"env": "env", "env.LOG_LEVEL": "env", "labels.app.kubernetes.io/name": "labels", "": ""} {
		if got := VariableOf(in); got != want {
			t.Errorf("VariableOf(%q) = %q, want %q", in, got, want)
		}
	}
}
