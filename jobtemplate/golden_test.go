package jobtemplate

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/internal/golden"
)

// TestGolden resolves the shipped and Prefect templates; with -update it
// also rewrites default.json in canonical pretty form.
func TestGolden(t *testing.T) {
	if golden.Update() {
		ind, err := Default().MarshalIndent()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("default.json", ind, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	full := map[string]any{
		"image":                     "ghcr.io/example/flows:1.0.0",
		"command":                   "python -m flows.run",
		"env":                       map[string]any{"LOG_LEVEL": "debug", "TARGET": "prod"},
		"labels":                    map[string]any{"team": "data"},
		"annotations":               map[string]any{"example.com/owner": "ana"},
		"service_account_name":      "flows-runner",
		"image_pull_policy":         "Always",
		"backoff_limit":             1,
		"finished_job_ttl":          3600,
		"active_deadline_seconds":   7200,
		"node_selector":             map[string]any{"kubernetes.io/arch": "arm64"},
		"tolerations":               []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "flows", "effect": "NoSchedule"}},
		"cpu_request":               "500m",
		"cpu_limit":                 "2",
		"memory_request":            "256Mi",
		"memory_limit":              "1Gi",
		"pod_watch_timeout_seconds": 120,
		"job_watch_timeout_seconds": 600,
		"stream_output":             false,
	}
	cases := []struct {
		name, template string
		values         map[string]any
	}{
		{"default-minimal.yaml", "default.json", map[string]any{"image": "ghcr.io/example/flows:1.0.0"}},
		{"default-full.yaml", "default.json", full},
		// Prefect's default Kubernetes template, as `prefect work-pool
		// get-default-base-job-template --type kubernetes` prints it.
		{"prefect-kubernetes.yaml", "testdata/prefect-kubernetes.json", map[string]any{
			"image": "prefecthq/prefect:3-latest", "env": map[string]any{"EXTRA_PIP_PACKAGES": "s3fs"},
			"cpu_request": "1", "memory_limit": "2Gi", "annotations": map[string]any{"example.com/owner": "ana"},
		}},
		// The same, as the collections registry serves it (Pydantic v1 style schema).
		{"prefect-kubernetes-legacy.yaml", "testdata/prefect-kubernetes-legacy.json", map[string]any{
			"image": "prefecthq/prefect:3-latest", "finished_job_ttl": 300,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.template)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := Parse(data, tc.template)
			if err != nil {
				t.Fatal(err)
			}
			r, err := tmpl.Resolve(tc.values, helloRun)
			if err != nil {
				t.Fatal(err)
			}
			out, err := yaml.Marshal(map[string]any{"job": r.Job, "config": r.Config})
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "golden", tc.name), out)
		})
	}
}
