package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-flows/kubectl-flows/internal/golden"
)

func TestGetGolden(t *testing.T) {
	fc := newFakeCluster(t, true)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"get-runs.txt", []string{"get", "runs"}},
		{"get-runs-wide.txt", []string{"get", "runs", "-o", "wide"}},
		{"get-runs-selector.txt", []string{"get", "runs", "-l", "kubectl-flows.dev/deployment=hello.arthur"}},
		{"get-deployments.txt", []string{"get", "deployments"}},
		{"get-deployments-wide.txt", []string{"get", "deploy", "-o", "wide"}},
		{"get-pools.txt", []string{"get", "pools"}},
		{"get-queues.txt", []string{"get", "queues"}},
		{"get-limits.txt", []string{"get", "limits"}},
		{"get-limits-wide.txt", []string{"get", "limits", "-o", "wide"}},
		{"get-run-yaml.txt", []string{"get", "run", "hello-default-done", "-o", "yaml"}},
		{"get-runs-name.txt", []string{"get", "runs", "-o", "name"}},
		{"get-queue-jsonpath.txt", []string{"get", "queues", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.slotsInUse}/{.spec.concurrencyLimit}{\"\\n\"}{end}"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, code := fc.kf(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Check(t, filepath.Join("testdata", tc.golden), []byte(out))
		})
	}
}

func TestGetJSONParsesBack(t *testing.T) {
	fc := newFakeCluster(t, true)
	out, _, code := fc.kf(t, "get", "runs", "-o", "json")
	if code != 0 {
		t.Fatal(code)
	}
	var l struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
			Spec     struct {
				Deployment string `json:"deployment"`
			} `json:"spec"`
			Status struct {
				State string `json:"state"`
				Late  bool   `json:"late"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatal(err)
	}
	if l.Kind != "List" || len(l.Items) != 9 {
		t.Fatalf("kind %s, %d items", l.Kind, len(l.Items))
	}
	states := map[string]string{}
	for _, it := range l.Items {
		states[it.Metadata.Name] = it.Status.State
		if it.Kind != "Run" || it.Spec.Deployment == "" {
			t.Errorf("item %+v", it)
		}
		if it.Metadata.Name == "hello-default-late" && !it.Status.Late {
			t.Errorf("hello-default-late is not late")
		}
	}
	if states["hello-default-done"] != "Completed" || states["hello-arthur-running"] != "Running" {
		t.Errorf("states %v", states)
	}
}

func TestGetErrors(t *testing.T) {
	fc := newFakeCluster(t, true)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get"}, "say what to get"},
		{[]string{"get", "rnus"}, `did you mean runs?`},
		{[]string{"get", "deployment", "hello/defualt"}, `deployment "hello/defualt" not found in namespace "flows"; did you mean hello/default`},
		{[]string{"get", "runs", "-l", "a=(b"}, "-l"},
		{[]string{"-n", "empty", "get", "pools"}, `no kubectl-flows project is installed in namespace "empty"`},
	} {
		_, errOut, code := fc.kf(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	// The not-installed error names namespaces that have a project.
	_, errOut, _ := fc.kf(t, "-n", "empty", "get", "runs")
	if !strings.Contains(errOut, "projects are installed in: flows") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestGetWatch(t *testing.T) {
	fc := newFakeCluster(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan string)
	go func() {
		out, _, _ := fc.kfContext(t, ctx, "get", "runs", "-w", "-l", "kubectl-flows.dev/deployment=hello.arthur")
		done <- out
	}()
	time.Sleep(300 * time.Millisecond)
	cm, err := fc.client.CoreV1().ConfigMaps("flows").Get(ctx, "hello-arthur-running", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm = cm.DeepCopy()
	cm.Labels["kubectl-flows.dev/state"] = "Completed"
	cm.Data["status.yaml"] = strings.Replace(cm.Data["status.yaml"], "state: Running", "state: Completed", 1)
	if _, err := fc.client.CoreV1().ConfigMaps("flows").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	out := <-done
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// The header, the two runs of hello/arthur, then those that changed:
	// the one that completed, and the one waiting, which now waits on
	// another limit.
	if len(lines) != 5 || !strings.Contains(lines[1], "Running") || !strings.Contains(lines[3], "hello-arthur-running") || !strings.Contains(lines[3], "Completed") ||
		!strings.Contains(lines[4], "hello-arthur-waiting") || !strings.Contains(lines[4], "tag hello") || !strings.HasPrefix(lines[0], "NAME") {
		t.Errorf("watch printed:\n%s", out)
	}
	_ = corev1.ConfigMap{}
}

// TestGetJobsUnreadable: when the Jobs of the runs that may have started
// cannot be read for a reason other than a missing permission, get and
// describe still print the runs as stored, and say on stderr what they
// could not read.
func TestGetJobsUnreadable(t *testing.T) {
	fc := newFakeCluster(t, true)
	fc.client.PrependReactor("list", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	})
	for _, args := range [][]string{{"get", "runs"}, {"describe", "deployment", "hello/default"}} {
		out, errOut, code := fc.kf(t, args...)
		if code != 0 || !strings.Contains(out, "hello-default") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the runs as stored", args, code, out, errOut)
		}
		if want := "warning: the runs' Jobs could not be read"; !strings.Contains(errOut, want) || !strings.Contains(errOut, "etcdserver: request timed out") {
			t.Errorf("%v: stderr %q, want %q with the server's error", args, errOut, want)
		}
	}
}
