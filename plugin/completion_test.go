package plugin

import (
	"strings"
	"testing"
)

func TestCompletion(t *testing.T) {
	fc := newFakeCluster(t, true)
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"__complete", "run", ""}, []string{"hello/arthur", "hello/default", ":4"}, nil},
		{[]string{"__complete", "run", "hello/d"}, []string{"hello/default"}, []string{"hello/arthur"}},
		{[]string{"__complete", "get", ""}, []string{"runs", "deployments", "pools", "queues", "limits"}, nil},
		{[]string{"__complete", "get", "runs", "hello-a"}, []string{"hello-arthur-running"}, []string{"hello-default-done"}},
		{[]string{"__complete", "cancel", ""}, []string{"hello-arthur-running", "hello-default-late"}, []string{"hello-default-done"}},
		{[]string{"__complete", "logs", ""}, []string{"hello-default-done"}, nil},
		{[]string{"__complete", "describe", "deployment", ""}, []string{"hello/arthur"}, nil},
		{[]string{"__complete", "pause", "queue", ""}, []string{"kubernetes/default"}, nil},
		{[]string{"__complete", ""}, []string{"run\t", "get\t", "describe\t", "logs\t", "cancel\t", "pause\t", "resume\t", "diff\t", "version\t", "completion\t"}, nil},
	} {
		out, errOut, code := fc.kf(t, tc.args...)
		if code != 0 {
			t.Errorf("%v: %d %s", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("%v: has %q:\n%s", tc.args, n, out)
			}
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, code := fc.kf(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "kubectl-flows") {
			t.Errorf("completion %s: %d %.200s", shell, code, out)
		}
	}
	// Help reads `kubectl flows`, as kubectl users type it.
	out, _, _ := fc.kf(t, "run", "--help")
	if !strings.Contains(out, "kubectl flows run FLOW/DEPLOYMENT") {
		t.Errorf("help:\n%s", out)
	}
}
