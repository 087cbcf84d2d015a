package reconciler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

// A deployment config whose parameterSchema refers outside itself is
// refused as config, as render refuses it: config comes only from
// operators, so it is not the run's fault, and its runs wait, saying why,
// for a render to fix it (as they do for any config that cannot be read).
// Nothing is read: the file referred to holds a schema every run matches,
// so reading it would admit the run.
func TestParameterSchemaRefOutsideRefusesTheConfig(t *testing.T) {
	target := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(target, []byte(`{"type": "object"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "file://" + target
	deps := []v1alpha1.Deployment{deployment("f", "a", "p", func(d *v1alpha1.Deployment) {
		d.ParameterSchema = map[string]any{"$ref": ref}
	})}
	var cms []*corev1.ConfigMap
	for _, o := range configMaps(t, []v1alpha1.Pool{pool("p", nil)}, deps, nil) {
		cms = append(cms, o.(*corev1.ConfigMap))
	}
	var cache configCache
	cfg := cache.build(cms)
	name := v1alpha1.DeploymentConfigMapName("f", "a")
	err := cfg.Errors[name]
	if err == nil || cfg.Deployments["f/a"] != nil {
		t.Fatalf("deployment config read as %+v, error %v", cfg.Deployments["f/a"], err)
	}
	for _, w := range []string{"ConfigMap " + name, "parameterSchema refers to", ref, "outside itself"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q: %v", w, err)
		}
	}
	run := newRun(t, "r", time.Minute, v1alpha1.RunRequest{Deployment: "f/a"})
	a, rej, wait := planner.Admit(cfg, map[string]*planner.ResolvedValues{}, testNS, run, &v1alpha1.RunRequest{Deployment: "f/a"}, nil)
	if a != nil || rej != nil || wait == nil || !strings.Contains(wait.Message, "parameterSchema refers to") {
		t.Errorf("run: admission %v, rejection %v, wait %v; want a wait saying why", a, rej, wait)
	}
}
