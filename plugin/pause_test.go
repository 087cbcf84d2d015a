package plugin

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestPauseResume(t *testing.T) {
	fc := newFakeCluster(t, false)
	ann := func(cm, key string) string {
		c, err := fc.client.CoreV1().ConfigMaps("flows").Get(context.Background(), cm, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Annotations[key]
	}
	// After each pause, get shows it, and the outermost pause is the one
	// shown (project.PauseOf): a paused deployment in a paused pool is
	// held by the pool.
	steps := []struct {
		args      []string
		out       string
		cm        string
		key       string
		want      string
		get, show string
	}{
		{[]string{"pause", "deployment", "hello/arthur"}, "deployment hello/arthur paused\n", "flows-deployment-hello-arthur", v1alpha1.AnnotationPaused, "true",
			"deployments", "hello/arthur    kubernetes   default   0 9 * * * (Europe/London), 0 18 * * 5 (Europe/London) [inactive, catchup All, own parameters]   paused (kubectl)"},
		{[]string{"pause", "queue", "kubernetes/default"}, "queue kubernetes/default paused\n", "flows-pool-kubernetes", v1alpha1.AnnotationPausedQueues, "default",
			"queues", "kubernetes/default   1          paused (kubectl)"},
		{[]string{"pause", "pool", "kubernetes"}, "pool kubernetes paused\n", "flows-pool-kubernetes", v1alpha1.AnnotationPaused, "true",
			"deployments", "hello/arthur    kubernetes   default   0 9 * * * (Europe/London), 0 18 * * 5 (Europe/London) [inactive, catchup All, own parameters]   via pool"},
	}
	for _, s := range steps {
		out, errOut, code := fc.kf(t, s.args...)
		if code != 0 || out != s.out {
			t.Fatalf("%v: %d %q %s", s.args, code, out, errOut)
		}
		if got := ann(s.cm, s.key); got != s.want {
			t.Errorf("%v: annotation %s=%q, want %q", s.args, s.key, got, s.want)
		}
		if out, _, _ := fc.kf(t, "get", s.get); !strings.Contains(out, s.show) {
			t.Errorf("after %v, get %s does not show %q:\n%s", s.args, s.get, s.show, out)
		}
	}
	for _, s := range steps {
		args := append([]string{"resume"}, s.args[1:]...)
		if _, errOut, code := fc.kf(t, args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
		if got := ann(s.cm, s.key); got != "" {
			t.Errorf("%v left %s=%q", args, s.key, got)
		}
	}
	// A bare queue name works when one pool has it; typos get suggestions.
	if out, _, code := fc.kf(t, "pause", "queue", "default"); code != 0 || out != "queue kubernetes/default paused\n" {
		t.Errorf("pause queue default: %d %q", code, out)
	}
	if _, errOut, code := fc.kf(t, "pause", "pool", "kubernetis"); code != 1 || !strings.Contains(errOut, "did you mean kubernetes") {
		t.Errorf("typo: %d %s", code, errOut)
	}
	if _, errOut, code := fc.kf(t, "pause", "run", "x"); code != 1 || !strings.Contains(errOut, "deployment, queue or pool") {
		t.Errorf("pause run: %d %s", code, errOut)
	}
}
