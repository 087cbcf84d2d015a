package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// TestFluxStagingEnvironment applies the Flux example's committed staging
// render (examples/flux/clusters/staging) as Flux would, with kustomize,
// and runs flows through it: the reconciler, given the --config-digest the
// applied Deployment carries and the rendered ServiceAccount's
// credentials, takes staging's config as signed (nothing "changed since
// it was rendered") and keeps to staging's own limits (queue default 1,
// where the project as written says 5). The only overlay is the test's:
// a namespace of its own, and the Flux objects left out (no Flux CRDs
// here); neither touches config data.
func TestFluxStagingEnvironment(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root, err := harness.RepoRoot()
	must(t, err)
	file := filepath.Join(root, "examples", "flux", "flows.yaml")
	staging, err := project.Load(file, project.LoadOptions{ExtVars: map[string]string{project.ExtVarGitSHA: "0123abc"}, Environment: "staging"})
	must(t, err)

	e := &env{t: t, ns: cp.NewNamespace(t), dir: t.TempDir(), loaded: staging}
	overlay := t.TempDir()
	base, err := filepath.Rel(overlay, filepath.Join(root, "examples", "flux", "clusters", "staging"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(`resources: [`+base+`]
namespace: `+e.ns+`
patches:
  - patch: |-
      $patch: delete
      apiVersion: source.toolkit.fluxcd.io/v1
      kind: GitRepository
      metadata: {name: flows-shop, namespace: flux-system}
  - patch: |-
      $patch: delete
      apiVersion: kustomize.toolkit.fluxcd.io/v1
      kind: Kustomization
      metadata: {name: flows-shop, namespace: flux-system}
`), 0o644))
	if out, err := cp.Kubectl(ctx, "apply", "-k", overlay, "--validate=strict", "--server-side", "--field-manager=kustomize-controller").CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply -k over clusters/staging: %v\n%s", err, out)
	}

	dep, err := cp.Client.AppsV1().Deployments(e.ns).Get(ctx, "flows-reconciler", metav1.GetOptions{})
	must(t, err)
	if *dep.Spec.Replicas != 1 {
		t.Errorf("staging's reconciler has %d replicas, want 1", *dep.Spec.Replicas)
	}
	digest := ""
	for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
		if d, ok := strings.CutPrefix(a, "--config-digest="); ok {
			digest = d
		}
	}
	if digest == "" {
		t.Fatalf("the applied reconciler Deployment has no --config-digest: %v", dep.Spec.Template.Spec.Containers[0].Args)
	}
	e.out = &render.Output{ConfigDigest: digest}

	jw := e.watchJobs(ctx, map[string]int{"pool/batch": 2, "queue/batch/default": 1, "tag/warehouse": 2}, e.limitKeys)
	kc, err := cp.KubeconfigForServiceAccount(ctx, e.ns, "flows-reconciler")
	must(t, err)
	e.startReconciler(kc)
	runs := []string{"orders-1", "orders-2", "orders-3"}
	for _, name := range runs {
		e.createRun(ctx, name, "deployment: orders/hourly\nparameters: {region: eu}\n")
	}
	// A run whose config is held back waits with the reason as its
	// message: stop at the first, to say so rather than time out.
	heldBack := ""
	final := e.waitFor(ctx, 2*time.Minute, "the staging runs to finish", func(m map[string]*v1alpha1.RunStatus) bool {
		done := true
		for _, name := range runs {
			if m[name] != nil && strings.Contains(m[name].Message, "since it was rendered") {
				heldBack = name + ": " + m[name].Message
				return true
			}
			done = done && m[name] != nil && m[name].State.Final()
		}
		return done
	})
	if heldBack != "" {
		t.Fatalf("the reconciler held staging's config back: %s", heldBack)
	}
	for _, name := range runs {
		if final[name].State != v1alpha1.StateCompleted {
			t.Errorf("run %s ended %s: %s", name, final[name].State, final[name].Message)
		}
	}
	jw.report(t)
	jw.mu.Lock()
	most := jw.maxInUse["queue/batch/default"]
	jw.mu.Unlock()
	if most != 1 {
		t.Errorf("staging's queue limit is 1: at most %d Jobs ran at once", most)
	}
}
