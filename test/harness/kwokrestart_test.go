package harness_test

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// A pod in flight when kwok restarts still completes, well before the old
// process's node leases (40 s) would have run out, the nodes stay Ready, and
// a Job created after the restart runs on the new process. The pod runs
// longer than the restart takes, so that it is still in flight when
// RestartKwok touches the pods kwok may have skipped.
func TestRestartKwok(t *testing.T) {
	ctx := ctxFor(t, 2*time.Minute)
	ns := cp.NewNamespace(t)
	during := newJob("during", 1)
	harness.AnnotateDelay(&during.Spec.Template, 15*time.Second)
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, during, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		pods := jobPods(t, ctx, ns, "during")
		return len(pods) == 1 && pods[0].Status.Phase == corev1.PodRunning, nil
	}); err != nil {
		t.Fatalf("the first Job's pod never ran: %v", err)
	}

	t0 := time.Now()
	if err := cp.RestartKwok(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kwok restarted, playing every pod again after %v", time.Since(t0).Round(10*time.Millisecond))
	if pods := jobPods(t, ctx, ns, "during"); len(pods) != 1 {
		t.Errorf("the first Job has %d pods, want 1", len(pods))
	} else if pods[0].Annotations[harness.AnnotationKwokRestarted] == "" {
		t.Errorf("the pod in flight was not touched after the restart; its annotations: %v", pods[0].Annotations)
	}

	if _, err := cp.WaitForJob(ctx, ns, "during", batchv1.JobComplete, 30*time.Second); err != nil {
		t.Fatalf("the Job whose pod ran across the restart: %v", err)
	}
	t.Logf("the Job whose pod ran across the restart Complete %v after it", time.Since(t0).Round(10*time.Millisecond))
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, newJob("after", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.WaitForJob(ctx, ns, "after", batchv1.JobComplete, 20*time.Second); err != nil {
		t.Fatalf("the Job created after the restart: %v", err)
	}
	t.Logf("a Job created after the restart Complete %v after it", time.Since(t0).Round(10*time.Millisecond))
	nodes, err := cp.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
				t.Errorf("node %s not Ready after the restart: %s", n.Name, c.Message)
			}
		}
	}
}
