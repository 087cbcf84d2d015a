package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestLogs(t *testing.T) {
	fc := newFakeCluster(t, true)
	// The fake API server answers every log request with "fake logs".
	out, errOut, code := fc.kf(t, "logs", "hello-arthur-running", "--tail", "5", "--timestamps")
	if code != 0 || out != "fake logs" {
		t.Errorf("logs: %d %q %s", code, out, errOut)
	}
	// No pod, but a saved tail: shown, and said so.
	out, errOut, code = fc.kf(t, "logs", "hello-default-failed")
	if code != 0 || !strings.Contains(out, "ValueError: no hello today") || !strings.Contains(errOut, "saved by the reconciler") {
		t.Errorf("saved tail: %d %q %s", code, out, errOut)
	}
	// Waiting, no pod: say so, and how to wait.
	_, errOut, code = fc.kf(t, "logs", "hello-default-late")
	if code != 1 || !strings.Contains(errOut, "has no pod yet; use -f to wait for it") {
		t.Errorf("no pod: %d %s", code, errOut)
	}
}

func TestLogsFollowWaitsForThePod(t *testing.T) {
	fc := newFakeCluster(t, true)
	done := make(chan [2]string)
	go func() {
		out, errOut, _ := fc.kf(t, "logs", "-f", "hello-default-late")
		done <- [2]string{out, errOut}
	}()
	time.Sleep(300 * time.Millisecond)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hello-default-late-xyz", Namespace: "flows", Labels: map[string]string{v1alpha1.LabelRunName: "hello-default-late"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "flow"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if _, err := fc.client.CoreV1().Pods("flows").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r[0] != "fake logs" || !strings.Contains(r[1], "waiting for the pod of run hello-default-late to start") {
			t.Errorf("logs -f: %q %q", r[0], r[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logs -f did not return after the pod started")
	}
}
