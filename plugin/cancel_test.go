package plugin

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// cancelRequestsFor returns the cancel requests in the fake cluster that
// name run by name and UID.
func cancelRequestsFor(t *testing.T, fc *fakeCluster, run string) int {
	t.Helper()
	list, err := fc.client.CoreV1().ConfigMaps("flows").List(context.Background(), metav1.ListOptions{LabelSelector: v1alpha1.LabelCancelRequest + "=true"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range list.Items {
		req, err := v1alpha1.DecodeCancelRequest(&list.Items[i])
		if err != nil {
			t.Fatalf("cancel request %s: %v", list.Items[i].Name, err)
		}
		if req.Run == run && string(req.RunUID) == "uid-"+run {
			n++
		}
	}
	return n
}

// noRunWrites fails the test if the CLI writes to any existing ConfigMap:
// a submitter may not, so cancel must only create.
func noRunWrites(t *testing.T, fc *fakeCluster) {
	fc.client.PrependReactor("*", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a.GetVerb() {
		case "update", "patch", "delete":
			t.Errorf("cancel sent %s on configmaps", a.GetVerb())
		}
		return false, nil, nil
	})
}

func TestCancel(t *testing.T) {
	fc := newFakeCluster(t, true)
	noRunWrites(t, fc)
	out, errOut, code := fc.kf(t, "cancel", "hello-arthur-running")
	if code != 0 || out != "run hello-arthur-running cancel requested\n" {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if n := cancelRequestsFor(t, fc, "hello-arthur-running"); n != 1 {
		t.Errorf("%d cancel requests for hello-arthur-running, want 1", n)
	}
	// Asked again (and named twice): still one request.
	if _, errOut, code := fc.kf(t, "cancel", "hello-arthur-running", "hello-arthur-running"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := cancelRequestsFor(t, fc, "hello-arthur-running"); n != 1 {
		t.Errorf("%d cancel requests for hello-arthur-running after a second cancel, want 1", n)
	}
	// A finished run and a missing one are errors; the good one still goes.
	_, errOut, code = fc.kf(t, "cancel", "hello-default-done", "hello-default-pendng", "hello-default-late")
	if code != 1 || !strings.Contains(errOut, "already ended Completed") || !strings.Contains(errOut, "did you mean hello-default-pending") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if cancelRequestsFor(t, fc, "hello-default-late") != 1 {
		t.Error("hello-default-late not cancelled")
	}
	if cancelRequestsFor(t, fc, "hello-default-done") != 0 {
		t.Error("a cancel request for a finished run")
	}
}

func TestCancelAllPending(t *testing.T) {
	fc := newFakeCluster(t, true)
	noRunWrites(t, fc)
	out, errOut, code := fc.kf(t, "cancel", "--all-pending", "--deployment", "hello/default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, n := range []string{"hello-default-pending", "hello-default-late", "hello-default-later"} {
		if !strings.Contains(out, "run "+n+" cancel requested") || cancelRequestsFor(t, fc, n) != 1 {
			t.Errorf("%s not cancelled:\n%s", n, out)
		}
	}
	for _, n := range []string{"hello-default-done", "hello-arthur-running"} {
		if cancelRequestsFor(t, fc, n) != 0 {
			t.Errorf("%s cancelled", n)
		}
	}
	for _, args := range [][]string{{"cancel"}, {"cancel", "--all-pending"}, {"cancel", "x", "--all-pending", "--deployment", "hello/default"}} {
		if _, _, code := fc.kf(t, args...); code != 1 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

// TestCancelRequestedShown: get and describe show a run's pending cancel
// request, and only one naming the run's own UID (a request left from an
// earlier run of the same name is not this run's).
func TestCancelRequestedShown(t *testing.T) {
	fc := newFakeCluster(t, true)
	ctx := context.Background()
	stale, err := v1alpha1.NewCancelRequest(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hello-default-pending", Namespace: "flows", UID: "an-earlier-run"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fc.client.CoreV1().ConfigMaps("flows").Create(ctx, stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	shown := func(run string) (get, describe bool) {
		out, errOut, code := fc.kf(t, "get", "run", run)
		if code != 0 {
			t.Fatalf("get: exit %d: %s", code, errOut)
		}
		js, _, _ := fc.kf(t, "get", "run", run, "-o", "json")
		if strings.Contains(out, "(cancel requested)") != strings.Contains(js, `"cancelRequested": true`) {
			t.Errorf("get run %s: table and JSON disagree:\n%s\n%s", run, out, js)
		}
		desc, errOut, code := fc.kf(t, "describe", "run", run)
		if code != 0 {
			t.Fatalf("describe: exit %d: %s", code, errOut)
		}
		return strings.Contains(out, "(cancel requested)"), strings.Contains(desc, "by cancel request")
	}
	if g, d := shown("hello-default-pending"); g || d {
		t.Errorf("a cancel request for another UID is shown: get %v, describe %v", g, d)
	}
	if _, errOut, code := fc.kf(t, "cancel", "hello-default-pending"); code != 0 {
		t.Fatalf("cancel: exit %d: %s", code, errOut)
	}
	if g, d := shown("hello-default-pending"); !g || !d {
		t.Errorf("cancel request not shown: get %v, describe %v", g, d)
	}
	if g, d := shown("hello-default-late"); g || d {
		t.Errorf("another run shows the cancel request: get %v, describe %v", g, d)
	}
}
