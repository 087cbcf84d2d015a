package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

const recentProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: recent
namespace: NS
pools:
  - name: main
deployments:
  - {flow: keep, name: fast, entrypoint: a.py:f, image: example.com/a:1, pool: main}
  - {flow: keep, name: held, entrypoint: a.py:f, image: example.com/a:1, pool: main, paused: true}
`

// TestGetRunsRecent: the reconciler labels each run it ends with its end
// time in the final state's own write; get runs then reads the runs not
// finished and only the newest --limit finished ones (every run with
// --limit 0, any run by name), and describe deployment its own newest.
// A submitter's run created with a forged final state and end label is
// shown waiting once the reconciler's first write has replaced them. The
// CLI runs as the viewer.
func TestGetRunsRecent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, recentProject, nil)
	ctx := context.Background()
	e.startReconciler("")
	old := []string{"old-1", "old-2", "old-3", "old-4"}
	e.createRuns(ctx, old, func(int) string { return "deployment: keep/fast\n" })
	e.waitFor(ctx, time.Minute, "the old runs to end", allFinal(len(old)))
	time.Sleep(1100 * time.Millisecond) // end labels are whole seconds
	newer := []string{"new-1", "new-2"}
	e.createRuns(ctx, newer, func(int) string { return "deployment: keep/fast\n" })
	e.waitFor(ctx, time.Minute, "the new runs to end", allFinal(len(old)+len(newer)))

	for name, st := range e.statuses(ctx) {
		cm, err := cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, name, metav1.GetOptions{})
		must(t, err)
		if want := v1alpha1.EndedLabelValue(st.EndTime.Time); cm.Labels[v1alpha1.LabelEnded] != want {
			t.Errorf("run %s (%s, ended %v): label %s=%q, want %q", name, st.State, st.EndTime, v1alpha1.LabelEnded, cm.Labels[v1alpha1.LabelEnded], want)
		}
	}

	// A submitter hides a run as finished long ago: the reconciler's
	// first write (it waits: its deployment is paused) replaces both.
	_, sub := e.bindUser(ctx, "flows-submitter", "mallory")
	forged := fixture.RunRequest("forged", "deployment: keep/held\n")
	forged.Labels[v1alpha1.LabelState] = string(v1alpha1.StateCompleted)
	forged.Labels[v1alpha1.LabelEnded] = "1"
	forged.Data[v1alpha1.KeyStatus] = "state: Completed\n"
	if _, err := sub.CoreV1().ConfigMaps(e.ns).Create(ctx, forged, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a run as the submitter: %v", err)
	}
	var cm *corev1.ConfigMap
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		cm, err = cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, "forged", metav1.GetOptions{})
		return err == nil && cm.Labels[v1alpha1.LabelState] == string(v1alpha1.StateScheduled), err
	})
	if err != nil {
		t.Fatalf("the forged run's state label is not Scheduled after 30s: %v (labels %v)", err, cm.Labels)
	}
	if v, ok := cm.Labels[v1alpha1.LabelEnded]; ok {
		t.Errorf("the reconciler's write left the forged %s=%q", v1alpha1.LabelEnded, v)
	}

	viewer, _ := e.bindUser(ctx, "flows-viewer", "victor")
	k := newCLI(t, e.dir, "KUBECONFIG="+viewer)
	rows := func(args ...string) []string {
		t.Helper()
		out := k.expect(0, append([]string{"get", "runs", "--no-headers", "--chunk-size", "2"}, args...)).stdout
		var names []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				names = append(names, f[0])
			}
		}
		return names
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("get runs %s lists %v, want %v", what, got, want)
		}
	}
	check("--limit 2", sortedSubset(rows("--limit", "2")), "forged", "new-1", "new-2")
	check("--limit 0", sortedSubset(rows("--limit", "0")), "forged", "new-1", "new-2", "old-1", "old-2", "old-3", "old-4")
	st := e.statuses(ctx)
	newest := rows("-l", v1alpha1.LabelState+"=Completed", "--limit", "1")
	if len(newest) != 1 || !slices.Contains(newer, newest[0]) || !st[newest[0]].EndTime.Time.Equal(latestEnd(st, newer)) {
		t.Errorf("get runs -l state=Completed --limit 1 lists %v, want the one of %v that ended last", newest, newer)
	}
	check("old-3 (by name)", rows("old-3", "--limit", "1"), "old-3")
	k.expect(0, []string{"get", "runs", "--limit", "1"}, "paused deployment keep/held")
	k.expect(0, []string{"describe", "deployment", "keep/fast"}, "Recent Runs:", "new-1", "new-2", "old-1")
	k.expect(1, []string{"get", "runs", "--limit", "-1"}, "--limit -1")
}

// sortedSubset is names sorted.
func sortedSubset(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return out
}

// latestEnd is when the last of names ended.
func latestEnd(st map[string]*v1alpha1.RunStatus, names []string) time.Time {
	var last time.Time
	for _, n := range names {
		if t := st[n].EndTime.Time; t.After(last) {
			last = t
		}
	}
	return last
}
