package plugin

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/project"
)

func cancelRequested(t *testing.T, fc *fakeCluster, name string) bool {
	t.Helper()
	cm, err := fc.client.CoreV1().ConfigMaps("flows").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, ok := cm.Annotations[project.AnnotationCancel]
	return ok
}

func TestCancel(t *testing.T) {
	fc := newFakeCluster(t, true)
	out, errOut, code := fc.kf(t, "cancel", "hello-arthur-running")
	if code != 0 || out != "run hello-arthur-running cancel requested\n" {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !cancelRequested(t, fc, "hello-arthur-running") {
		t.Error("no cancel annotation")
	}
	// A finished run and a missing one are errors; the good one still goes.
	_, errOut, code = fc.kf(t, "cancel", "hello-default-done", "hello-default-pendng", "hello-default-late")
	if code != 1 || !strings.Contains(errOut, "already ended Completed") || !strings.Contains(errOut, "did you mean hello-default-pending") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if !cancelRequested(t, fc, "hello-default-late") {
		t.Error("hello-default-late not cancelled")
	}
}

func TestCancelAllPending(t *testing.T) {
	fc := newFakeCluster(t, true)
	out, errOut, code := fc.kf(t, "cancel", "--all-pending", "--deployment", "hello/default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, n := range []string{"hello-default-pending", "hello-default-late", "hello-default-later"} {
		if !strings.Contains(out, n) || !cancelRequested(t, fc, n) {
			t.Errorf("%s not cancelled:\n%s", n, out)
		}
	}
	for _, n := range []string{"hello-default-done", "hello-arthur-running"} {
		if cancelRequested(t, fc, n) {
			t.Errorf("%s cancelled", n)
		}
	}
	for _, args := range [][]string{{"cancel"}, {"cancel", "--all-pending"}, {"cancel", "x", "--all-pending", "--deployment", "hello/default"}} {
		if _, _, code := fc.kf(t, args...); code != 1 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
