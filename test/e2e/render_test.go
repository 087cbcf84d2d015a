package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// examplePaths globs examples/*/pattern, failing when fewer than the four
// examples match.
func examplePaths(t *testing.T, pattern string) []string {
	t.Helper()
	root, err := harness.RepoRoot()
	must(t, err)
	m, err := filepath.Glob(filepath.Join(root, "examples", "*", pattern))
	must(t, err)
	if len(m) < 4 {
		t.Fatalf("examples/*/%s: found %d, want the 4 examples", pattern, len(m))
	}
	return m
}

// TestExamplesApply: every example's rendered directory is accepted by the
// real `kubectl apply -k` with strict server-side field validation, and
// `kubectl kustomize` builds it.
func TestExamplesApply(t *testing.T) {
	t.Parallel()
	for _, dir := range examplePaths(t, "deploy") {
		t.Run(filepath.Base(filepath.Dir(dir)), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if out, err := cp.Kubectl(ctx, "kustomize", dir).CombinedOutput(); err != nil {
				t.Fatalf("kubectl kustomize: %v\n%s", err, out)
			}
			out, err := cp.Kubectl(ctx, "apply", "-k", dir, "--validate=strict", "--server-side", "--field-manager=e2e").CombinedOutput()
			if err != nil {
				t.Fatalf("kubectl apply -k: %v\n%s", err, out)
			}
			t.Logf("%s", bytes.TrimSpace(out))
		})
	}
}

// TestPreviewJobCompletes: the Job preview in a rendered deployment
// ConfigMap is a real Job: created as it is, it runs to Complete on a kwok
// node.
func TestPreviewJobCompletes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root, err := harness.RepoRoot()
	must(t, err)
	l, err := project.Load(filepath.Join(root, "examples", "hello", "flows.yaml"), project.LoadOptions{ExtVars: map[string]string{"gitSha": "e2e"}})
	must(t, err)
	ns := cp.NewNamespace(t)
	l.Namespace = ns
	out, err := render.Render(l, render.Options{Version: "v0.0.0-e2e"})
	must(t, err)
	cm := &corev1.ConfigMap{}
	must(t, yaml.Unmarshal(out.Files["deployments/flows-deployment-hello-default.yaml"], cm))
	job := &batchv1.Job{}
	must(t, yaml.UnmarshalStrict([]byte(cm.Data[v1alpha1.KeyJobPreview]), job))
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	must(t, harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		j, err := cp.Client.BatchV1().Jobs(ns).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}))
}
