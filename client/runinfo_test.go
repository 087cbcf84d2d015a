package client

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

func TestCountSlotsAndLate(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	mk := func(name string, st *v1alpha1.RunStatus, created time.Duration) *RunInfo {
		data, _ := v1alpha1.EncodeRunStatus(st)
		return ReadRun(&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(created))},
			Data:       map[string]string{v1alpha1.KeyRun: "deployment: a/b\n", v1alpha1.KeyStatus: data},
		})
	}
	runs := []*RunInfo{
		mk("running", &v1alpha1.RunStatus{State: v1alpha1.StateRunning, Pool: "p", Queue: "q", Tags: []string{"x", "y"}}, -time.Minute),
		mk("pending", &v1alpha1.RunStatus{State: v1alpha1.StatePending, Pool: "p", Queue: "q", Tags: []string{"x"}}, -time.Minute),
		mk("done", &v1alpha1.RunStatus{State: v1alpha1.StateCompleted, Pool: "p", Queue: "q", Tags: []string{"x"}}, -time.Minute),
		mk("waiting", &v1alpha1.RunStatus{State: v1alpha1.StateScheduled}, -time.Minute),
		mk("new", &v1alpha1.RunStatus{}, -5*time.Second),
	}
	in := &project.Installed{Deployments: map[string]*project.InstalledDeployment{"a/b": {Deployment: v1alpha1.Deployment{Flow: "a", Name: "b", Pool: "p", Queue: "q"}}}}
	u := CountSlots(runs, in)
	if u.Pool["p"] != 2 || u.Queue["p/q"] != 2 || u.Deployment["a/b"] != 2 || u.Tag["x"] != 2 || u.Tag["y"] != 1 {
		t.Errorf("usage %+v", u)
	}
	if u.WaitingPool["p"] != 2 || u.WaitingQueue["p/q"] != 2 {
		t.Errorf("waiting %+v %+v", u.WaitingPool, u.WaitingQueue)
	}
	if s := runs[3].DisplayState(now); s != v1alpha1.StateLate {
		t.Errorf("waiting a minute: %s", s)
	}
	if s := runs[4].DisplayState(now); s != v1alpha1.StateScheduled {
		t.Errorf("new: %s", s)
	}
}
