package jobtemplate

import (
	"reflect"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name   string
		levels []map[string]any
		want   map[string]any
	}{
		{
			name:   "nothing",
			levels: nil,
			want:   map[string]any{},
		},
		{
			name: "higher level replaces whole values",
			levels: []map[string]any{
				{"image": "pool:1", "labels": map[string]any{"team": "a", "tier": "x"}, "cpu_request": "1"},
				{"image": "deploy:1", "labels": map[string]any{"team": "b"}},
				{"image": "run:1"},
			},
			want: map[string]any{"image": "run:1", "labels": map[string]any{"team": "b"}, "cpu_request": "1"},
		},
		{
			name: "env merges key by key, higher wins",
			levels: []map[string]any{
				{"env": map[string]any{"A": "pool", "B": "pool"}},
				{"env": map[string]any{"B": "deploy", "C": "deploy"}},
				{"env": map[string]any{"C": "run", "D": "run"}},
			},
			want: map[string]any{"env": map[string]any{"A": "pool", "B": "deploy", "C": "run", "D": "run"}},
		},
		{
			name: "env given as map[string]string",
			levels: []map[string]any{
				{"env": map[string]string{"A": "1"}},
				{"env": map[string]string{"B": "2"}},
			},
			want: map[string]any{"env": map[string]any{"A": "1", "B": "2"}},
		},
		{
			name: "null is kept so it overrides lower levels",
			levels: []map[string]any{
				{"image": "pool:1", "env": map[string]any{"A": "1", "B": "2"}},
				{"image": nil, "env": map[string]any{"A": nil}},
			},
			want: map[string]any{"image": nil, "env": map[string]any{"A": nil, "B": "2"}},
		},
		{
			name: "env that is not an object replaces",
			levels: []map[string]any{
				{"env": map[string]any{"A": "1"}},
				{"env": []any{map[string]any{"name": "B", "value": "2"}}},
			},
			want: map[string]any{"env": []any{map[string]any{"name": "B", "value": "2"}}},
		},
		{
			name: "dotted keys expand (Prefect from_template_and_values)",
			levels: []map[string]any{
				{"env": map[string]any{"A": "pool"}},
				{"env.B": "deploy", "node_selector.zone": "a"},
			},
			want: map[string]any{"env": map[string]any{"A": "pool", "B": "deploy"}, "node_selector": map[string]any{"zone": "a"}},
		},
		{
			name: "nested form wins over dotted within a level",
			levels: []map[string]any{
				{"env.A": "dotted", "env.B": "dotted", "env": map[string]any{"A": "nested"}},
			},
			want: map[string]any{"env": map[string]any{"A": "nested", "B": "dotted"}},
		},
		{
			name:   "overlapping dotted keys apply in a fixed order",
			levels: []map[string]any{{"x.a": "scalar", "x.a.b": "deeper"}},
			want:   map[string]any{"x": map[string]any{"a": map[string]any{"b": "deeper"}}},
		},
		{
			name:   "Go types are normalized",
			levels: []map[string]any{{"tolerations": []map[string]any{{"key": "k"}}, "args": []string{"a"}}},
			want:   map[string]any{"tolerations": []any{map[string]any{"key": "k"}}, "args": []any{"a"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Merge(tc.levels...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Merge = %#v\nwant    %#v", got, tc.want)
			}
		})
	}
}

func TestMergeDoesNotModifyOrAlias(t *testing.T) {
	pool := map[string]any{"env": map[string]any{"A": "1"}, "labels": map[string]any{"t": "x"}}
	deploy := map[string]any{"env": map[string]any{"B": "2"}}
	got := Merge(pool, deploy)
	got["env"].(map[string]any)["C"] = "3"
	got["labels"].(map[string]any)["t"] = "changed"
	if !reflect.DeepEqual(pool, map[string]any{"env": map[string]any{"A": "1"}, "labels": map[string]any{"t": "x"}}) ||
		!reflect.DeepEqual(deploy, map[string]any{"env": map[string]any{"B": "2"}}) {
		t.Fatalf("Merge changed its arguments: %v %v", pool, deploy)
	}
}

// Merging is associative, so callers may pre-merge pool and deployment.
func TestMergeAssociative(t *testing.T) {
	a := map[string]any{"env": map[string]any{"A": "1", "B": "1"}, "image": "a"}
	b := map[string]any{"env": map[string]any{"B": nil, "C": "2"}, "image": nil}
	c := map[string]any{"env": map[string]any{"C": "3"}, "cpu_request": "1"}
	if x, y := Merge(Merge(a, b), c), Merge(a, Merge(b, c)); !reflect.DeepEqual(x, y) || !reflect.DeepEqual(x, Merge(a, b, c)) {
		t.Fatalf("not associative: %v vs %v", x, y)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]any
		wantErr string // "" means valid; otherwise the whole message
	}{
		{"nothing", nil, ""},
		{"typical", map[string]any{"image": "ghcr.io/x/flows:1", "cpu_request": "500m", "env": map[string]any{"A": "1"}}, ""},
		{"null means unset", map[string]any{"image": nil, "cpu_request": nil, "image_pull_policy": nil}, ""},
		{"null env entry", map[string]any{"env": map[string]any{"A": nil}}, ""},
		{"dotted env", map[string]any{"env.A": "x"}, ""},
		{"integers as Go ints", map[string]any{"backoff_limit": 3, "active_deadline_seconds": int64(60)}, ""},
		{"tolerations", map[string]any{"tolerations": []any{map[string]any{"key": "k", "operator": "Exists", "effect": "NoSchedule"}}}, ""},
		{
			"wrong type names the variable",
			map[string]any{"cpu_request": 1},
			`job variable "cpu_request": expected string, got number`,
		},
		{
			"enum",
			map[string]any{"image_pull_policy": "Sometimes"},
			`job variable "image_pull_policy": must be one of "IfNotPresent", "Always", "Never", got "Sometimes"`,
		},
		{
			"minimum",
			map[string]any{"backoff_limit": -1},
			`job variable "backoff_limit": must be at least 0, got -1`,
		},
		{
			"integer",
			map[string]any{"pod_watch_timeout_seconds": 1.5},
			`job variable "pod_watch_timeout_seconds": expected integer, got number`,
		},
		{
			"env values are strings",
			map[string]any{"env": map[string]any{"PORT": 8080}},
			`job variable "env.PORT": expected string, got number`,
		},
		{
			"nested path",
			map[string]any{"tolerations": []any{map[string]any{"effect": "Sometimes", "colour": "red"}}},
			"job variable \"tolerations[0]\": additional properties 'colour' not allowed\n" +
				`job variable "tolerations[0].effect": must be one of "NoSchedule", "PreferNoSchedule", "NoExecute", got "Sometimes"`,
		},
		{
			"several problems, sorted by variable",
			map[string]any{"stream_output": "yes", "cpu_limit": true, "labels": []any{}},
			"job variable \"cpu_limit\": expected string, got boolean\n" +
				"job variable \"labels\": expected object, got array\n" +
				`job variable "stream_output": expected boolean, got string`,
		},
		{
			"unknown variable",
			map[string]any{"imagee": "x"},
			`unknown job variable "imagee"; did you mean "image"? (known: active_deadline_seconds, annotations, backoff_limit, command, cpu_limit, cpu_request, env, finished_job_ttl, image, image_pull_policy, job_watch_timeout_seconds, labels, memory_limit, memory_request, name, namespace, node_selector, pod_watch_timeout_seconds, run_as_user, service_account_name, stream_output, tolerations)`,
		},
		{
			"unknown dotted variable",
			map[string]any{"resources.cpu": "1"},
			`unknown job variable "resources" (known: active_deadline_seconds, annotations, backoff_limit, command, cpu_limit, cpu_request, env, finished_job_ttl, image, image_pull_policy, job_watch_timeout_seconds, labels, memory_limit, memory_request, name, namespace, node_selector, pod_watch_timeout_seconds, run_as_user, service_account_name, stream_output, tolerations)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Default().Validate(tc.values)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("no error, want %q", tc.wantErr)
			case tc.wantErr != "" && err.Error() != tc.wantErr:
				t.Fatalf("error:\n%v\nwant:\n%s", err, tc.wantErr)
			}
		})
	}
}

const requiredTemplate = `{
  "job_configuration": {
    "job_manifest": {
      "apiVersion": "batch/v1",
      "kind": "Job",
      "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "{{ image }}"}]}}}
    }
  },
  "variables": {
    "type": "object",
    "required": ["image"],
    "properties": {
      "image": {"type": "string", "minLength": 3},
      "tier": {"type": "string", "default": "standard"}
    }
  }
}`

func TestValidateRequired(t *testing.T) {
	tmpl, err := Parse([]byte(requiredTemplate), "required.json")
	if err != nil {
		t.Fatal(err)
	}
	const missing = `job variable "image": required, but no value is set and the schema has no default`
	if err := tmpl.Validate(nil); err == nil || err.Error() != missing {
		t.Errorf("Validate(nil) = %v, want %q", err, missing)
	}
	if err := tmpl.Validate(map[string]any{"image": nil}); err == nil || err.Error() != missing {
		t.Errorf("Validate(image: null) = %v, want %q", err, missing)
	}
	// Pools and deployments are validated without "required": a later level may set it.
	if err := tmpl.ValidatePartial(nil); err != nil {
		t.Errorf("ValidatePartial(nil) = %v", err)
	}
	if err := tmpl.ValidatePartial(map[string]any{"image": "ab"}); err == nil || !strings.Contains(err.Error(), `job variable "image": minLength`) {
		t.Errorf("ValidatePartial still checks values: %v", err)
	}
	if err := tmpl.Validate(map[string]any{"image": "abc"}); err != nil {
		t.Errorf("Validate(image) = %v", err)
	}
}

func TestValidateDoesNotModifyValues(t *testing.T) {
	values := map[string]any{"env": map[string]any{"A": nil, "B": "1"}, "image": nil, "env.C": "2"}
	if err := Default().Validate(values); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"env": map[string]any{"A": nil, "B": "1"}, "image": nil, "env.C": "2"}
	if !reflect.DeepEqual(values, want) {
		t.Fatalf("values changed: %v", values)
	}
}
