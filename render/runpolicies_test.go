package render_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

const policiesProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: s
namespace: flows
pools:
  - name: p
    retries: {attempts: 2}
    timeout: 1h
concurrencyLimits:
  - {tag: api, limit: 5, rate: 10/m, burst: 3}
deployments:
  - flow: a
    name: b
    entrypoint: a.py:a
    image: x:1
    pool: p
    tags: [api]
    retries: {attempts: 3, delay: 40s, on: [Crashed, Evicted], neverOnExitCodes: [3]}
    timeout: 30m
`

// TestRunPoliciesRendered: retries, timeouts and rates reach the config
// ConfigMaps render writes, and read back as written.
func TestRunPoliciesRendered(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flows.yaml"), []byte(policiesProject), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := project.Load(filepath.Join(dir, "flows.yaml"), project.LoadOptions{ExtVars: map[string]string{"gitSha": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Render(l, render.Options{Version: "v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{}
		if err := yaml.Unmarshal(out.Files[path], cm); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return cm
	}
	d, err := v1alpha1.DecodeDeployment(read("deployments/flows-deployment-a-b.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Retries, l.Deployments[0].Retries) || d.Timeout.Duration != 30*time.Minute {
		t.Errorf("deployment read back with retries %+v, timeout %v", d.Retries, d.Timeout)
	}
	p, err := v1alpha1.DecodePool(read("pools/flows-pool-p.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Retries == nil || p.Retries.Attempts != 2 || p.Timeout.Duration != time.Hour {
		t.Errorf("pool read back with retries %+v, timeout %v", p.Retries, p.Timeout)
	}
	limits, err := v1alpha1.DecodeLimits(read("flows-limits.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(limits) != 1 || limits[0].Rate != "10/m" || limits[0].BurstOf() != 3 {
		t.Errorf("limits read back %+v", limits)
	}
}
