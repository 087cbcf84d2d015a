package client

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// testRun is a run ConfigMap with a state and, when ended, its end.
func testRun(name string, state v1alpha1.RunState, end time.Time, endLabel bool) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{v1alpha1.LabelRun: "true"}},
		Data:       map[string]string{v1alpha1.KeyRun: "deployment: a/b\n"},
	}
	if state != "" {
		cm.Labels[v1alpha1.LabelState] = string(state)
		cm.Data[v1alpha1.KeyStatus] = "state: " + string(state) + "\n"
	}
	if !end.IsZero() {
		cm.Data[v1alpha1.KeyStatus] += "endTime: " + end.UTC().Format(time.RFC3339) + "\n"
		if endLabel {
			cm.Labels[v1alpha1.LabelEnded] = v1alpha1.EndedLabelValue(end)
		}
	}
	return cm
}

// TestRecentRuns: the runs not finished, the newest finished by their
// end, and the finished ones with no end label; never the older ones.
// The selectors are the API server's own (label selectors evaluated by
// the fake's tracker); the e2e test TestGetRunsRecent runs them for real.
func TestRecentRuns(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var objs []runtime.Object
	for i := range 40 { // one an hour, the newest 20 minutes ago
		objs = append(objs, testRun(fmt.Sprintf("done-%02d", i), v1alpha1.StateCompleted, now.Add(-20*time.Minute-time.Duration(i)*time.Hour), true))
	}
	objs = append(objs,
		testRun("new", "", time.Time{}, false),
		testRun("waiting", v1alpha1.StateScheduled, time.Time{}, false),
		testRun("running", v1alpha1.StateRunning, time.Time{}, false),
		testRun("older-reconciler", v1alpha1.StateFailed, now.Add(-300*time.Hour), false),
	)
	c := New(fake.NewSimpleClientset(objs...), Options{Namespace: "ns", Now: func() time.Time { return now }})
	for _, tc := range []struct {
		finished int
		want     []string
	}{
		{0, []string{"new", "older-reconciler", "running", "waiting"}},
		{3, []string{"done-00", "done-01", "done-02", "new", "older-reconciler", "running", "waiting"}},
		{45, nil}, // all of them
	} {
		items, err := c.recentRuns(context.Background(), project.ReadConfig(nil), RecentOptions{Finished: tc.finished})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, cm := range items {
			got = append(got, cm.Name)
		}
		slices.Sort(got)
		want := tc.want
		if want == nil {
			want = []string{"new", "older-reconciler", "running", "waiting"}
			for i := range 40 {
				want = append(want, fmt.Sprintf("done-%02d", i))
			}
			slices.Sort(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d finished: read %v, want %v", tc.finished, got, want)
		}
	}
}

// TestKeepNewest: the n that ended last by their status, every one within
// the rate horizon, and every one whose status does not say it ended.
func TestKeepNewest(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	items := []corev1.ConfigMap{
		*testRun("a", v1alpha1.StateCompleted, now.Add(-3*time.Hour), true),
		*testRun("b", v1alpha1.StateCompleted, now.Add(-time.Minute), true),
		*testRun("c", v1alpha1.StateFailed, now.Add(-2*time.Hour), true),
		*testRun("d", v1alpha1.StateCompleted, now.Add(-30*time.Second), true),
		*testRun("forged", v1alpha1.StateRunning, now.Add(-5*time.Hour), true),
	}
	items[4].Labels[v1alpha1.LabelState] = string(v1alpha1.StateCompleted) // the label says finished, the status not
	for _, tc := range []struct {
		n     int
		since time.Time
		want  []string
	}{
		{1, now, []string{"d", "forged"}},
		{2, now, []string{"b", "d", "forged"}},
		{1, now.Add(-150 * time.Minute), []string{"b", "c", "d", "forged"}},
		{10, now, []string{"a", "b", "c", "d", "forged"}},
	} {
		var got []string
		for _, cm := range keepNewest(items, tc.n, tc.since) {
			got = append(got, cm.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("keepNewest(%d, since %v) = %v, want %v", tc.n, tc.since, got, tc.want)
		}
	}
}
