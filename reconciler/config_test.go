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
	a, rej, wait := planner.Admit(cfg, map[string]*planner.ResolvedValues{}, nil, testNS, run, &v1alpha1.RunRequest{Deployment: "f/a"}, nil)
	if a != nil || rej != nil || wait == nil || !strings.Contains(wait.Message, "parameterSchema refers to") {
		t.Errorf("run: admission %v, rejection %v, wait %v; want a wait saying why", a, rej, wait)
	}
}

// The config cache gives a pool or deployment a new data revision when its
// data changes, and keeps it when only its annotations do: pausing and
// resuming a pool must not have every waiting run's values checked again.
func TestConfigRevisionFollowsDataNotAnnotations(t *testing.T) {
	render := func(p v1alpha1.Pool) []*corev1.ConfigMap {
		var cms []*corev1.ConfigMap
		for _, o := range configMaps(t, []v1alpha1.Pool{p}, []v1alpha1.Deployment{deployment("f", "a", "p", nil)}, nil) {
			cms = append(cms, o.(*corev1.ConfigMap))
		}
		return cms
	}
	cms := render(pool("p", nil))
	var cache configCache
	revisions := func() (uint64, uint64, bool) {
		cfg := cache.build(cms)
		p, d := cfg.Pools["p"], cfg.Deployments["f/a"]
		if p == nil || d == nil {
			t.Fatalf("config not read: %v", cfg.Errors)
		}
		return p.Revision, d.Revision, p.PausedByAnnotation
	}
	p0, d0, _ := revisions()
	if p0 == 0 || d0 == 0 || p0 == d0 {
		t.Fatalf("revisions %d and %d: want two distinct ones", p0, d0)
	}
	// As the API server hands them over: a new object, a new
	// resourceVersion.
	changePool := func(change func(*corev1.ConfigMap)) {
		for i, cm := range cms {
			if cm.Name == v1alpha1.PoolConfigMapName("p") {
				cm = cm.DeepCopy()
				change(cm)
				cm.ResourceVersion += "1"
				cms[i] = cm
			}
		}
	}
	changePool(func(cm *corev1.ConfigMap) { cm.Annotations = map[string]string{v1alpha1.AnnotationPaused: "true"} })
	if p, d, paused := revisions(); p != p0 || d != d0 || !paused {
		t.Errorf("paused: revisions %d, %d (paused %v); want %d, %d, paused", p, d, paused, p0, d0)
	}
	changePool(func(cm *corev1.ConfigMap) { cm.Labels["example.com/extra"] = "x" })
	p1, _, _ := revisions()
	if p1 == p0 {
		t.Error("a label change kept the pool's revision")
	}
	limit := int32(3)
	cms = render(pool("p", &limit))
	for _, cm := range cms {
		cm.ResourceVersion = "9"
	}
	if p, d, _ := revisions(); p == p1 || p == p0 || d != d0 {
		t.Errorf("a new render of the pool alone: revisions %d, %d; want a new pool revision and %d", p, d, d0)
	}
}
