package client

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// startedSnapshot is pool p (limit 2, queue default) and deployment f/a
// in it: run held holds a slot (stored Running), and runs a1 to a4 wait,
// created in that order, so a1 starts next and a2 to a4 are 1st to 3rd in
// line on pool p.
func startedSnapshot(t *testing.T, now time.Time) *Snapshot {
	t.Helper()
	limit := int32(2)
	in := &project.Installed{
		Pools: map[string]*project.InstalledPool{"p": {
			Pool:     v1alpha1.Pool{Name: "p", ConcurrencyLimit: &limit, Queues: []v1alpha1.Queue{{Name: "default", Priority: 1}}},
			Template: jobtemplate.Default(), PausedQueues: map[string]bool{},
		}},
		Deployments: map[string]*project.InstalledDeployment{"f/a": {Deployment: v1alpha1.Deployment{
			Flow: "f", Name: "a", Pool: "p", Queue: "default", Image: "img:1", Entrypoint: "flows/x.py:x",
		}}},
		TagLimits: map[string]int32{}, Errors: map[string]error{},
	}
	run := func(name string, age time.Duration, st *v1alpha1.RunStatus) *RunInfo {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
				CreationTimestamp: metav1.NewTime(now.Add(-age)), Labels: map[string]string{v1alpha1.LabelRun: "true"}},
			Data: map[string]string{v1alpha1.KeyRun: "deployment: f/a\n"},
		}
		if st != nil {
			data, err := v1alpha1.EncodeRunStatus(st)
			if err != nil {
				t.Fatal(err)
			}
			cm.Data[v1alpha1.KeyStatus] = data
			cm.Labels[v1alpha1.LabelState] = string(st.State)
		}
		return ReadRun(cm)
	}
	runs := []*RunInfo{
		run("held", time.Hour, &v1alpha1.RunStatus{State: v1alpha1.StateRunning, Pool: "p", Queue: "default", JobName: "held"}),
		run("a1", 4*time.Minute, nil),
		run("a2", 3*time.Minute, &v1alpha1.RunStatus{State: v1alpha1.StateScheduled}),
		run("a3", 2*time.Minute, nil),
		run("a4", time.Minute, nil),
	}
	return Assemble("ns", now, in, runs, nil)
}

// startedJob is the Job the reconciler makes for run, controlled by the
// run of UID owner ("" for none), with its admission recorded.
func startedJob(t *testing.T, run, owner string, admitted time.Time) *metav1.PartialObjectMetadata {
	t.Helper()
	rec, err := json.Marshal(v1alpha1.AdmissionRecord{ScheduledTime: metav1.NewTime(admitted.Add(-time.Minute)), AdmittedAt: admitted})
	if err != nil {
		t.Fatal(err)
	}
	job := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: v1alpha1.JobName(run), Namespace: "ns",
		Labels:      map[string]string{v1alpha1.LabelPool: "p", v1alpha1.LabelQueue: "default", v1alpha1.LabelRunName: v1alpha1.JobName(run)},
		Annotations: map[string]string{v1alpha1.AnnotationAdmission: string(rec), v1alpha1.AnnotationTags: "db"},
	}}
	if owner != "" {
		yes := true
		job.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: run, UID: types.UID(owner), Controller: &yes}}
	}
	return job
}

// TestWithStarted: the Jobs of the waiting runs that could have started
// (the one that starts next, and those in line within the slots in use)
// are asked for, and a run whose Job its run controls shows as Pending,
// Dispatched, from the Job's admission, the runs behind it placed after
// it; a Job another run or nothing controls changes nothing.
func TestWithStarted(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	admitted := now.Add(-10 * time.Second)
	for _, tc := range []struct {
		name    string
		jobs    func() []*metav1.PartialObjectMetadata
		started []string       // runs shown Pending
		waits   map[string]int // position by run; -1 starts next
	}{
		{
			name:  "no Job: as stored",
			jobs:  func() []*metav1.PartialObjectMetadata { return nil },
			waits: map[string]int{"a1": -1, "a2": 1, "a3": 2, "a4": 3},
		},
		{
			name: "the run that starts next has its Job",
			jobs: func() []*metav1.PartialObjectMetadata {
				return []*metav1.PartialObjectMetadata{startedJob(t, "a1", "uid-a1", admitted)}
			},
			started: []string{"a1"},
			waits:   map[string]int{"a2": 1, "a3": 2, "a4": 3},
		},
		{
			name: "a run in line has its Job (the slot held by a run whose end is not yet written)",
			jobs: func() []*metav1.PartialObjectMetadata {
				return []*metav1.PartialObjectMetadata{startedJob(t, "a1", "uid-a1", admitted), startedJob(t, "a2", "uid-a2", admitted)}
			},
			started: []string{"a1", "a2"},
			waits:   map[string]int{"a3": 1, "a4": 2},
		},
		{
			name: "a Job of the run's name that another run controls",
			jobs: func() []*metav1.PartialObjectMetadata {
				return []*metav1.PartialObjectMetadata{startedJob(t, "a1", "uid-a2", admitted)}
			},
			waits: map[string]int{"a1": -1, "a2": 1, "a3": 2, "a4": 3},
		},
		{
			name: "a Job of the run's name with no controller",
			jobs: func() []*metav1.PartialObjectMetadata {
				return []*metav1.PartialObjectMetadata{startedJob(t, "a1", "", admitted)}
			},
			waits: map[string]int{"a1": -1, "a2": 1, "a3": 2, "a4": 3},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startedSnapshot(t, now)
			var asked []string
			got, err := withStarted(s, func(names []string) ([]metav1.Object, error) {
				asked = names
				var out []metav1.Object
				for _, j := range tc.jobs() {
					out = append(out, j)
				}
				return out, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"a1", "a2"}; !slices.Equal(asked, want) {
				t.Errorf("asked for the Jobs %v, want %v (starts next, and 1st in line with one slot in use)", asked, want)
			}
			for _, name := range []string{"a1", "a2", "a3", "a4"} {
				v := got.ViewRun(got.Run(name))
				if slices.Contains(tc.started, name) {
					if v.State != v1alpha1.StatePending || v.Reason != v1alpha1.ReasonDispatched || v.JobName != name || v.Wait != nil {
						t.Errorf("%s: %s (%s) job %q wait %+v, want Pending (Dispatched) with its Job and no wait", name, v.State, v.Reason, v.JobName, v.Wait)
					}
					if !v.Pending.Equal(admitted) || !slices.Equal(v.Tags, []string{"db"}) || v.Queue != "p/default" {
						t.Errorf("%s: pending %v tags %v queue %q, want the Job's admission: %v, [db], p/default", name, v.Pending, v.Tags, v.Queue, admitted)
					}
					if s.Run(name).State() != v1alpha1.StateScheduled {
						t.Errorf("%s: the snapshot read was changed", name)
					}
					continue
				}
				want, waits := tc.waits[name]
				switch {
				case !waits:
					t.Errorf("%s: not expected", name)
				case want == -1 && (v.Wait == nil || v.WaitingOn != "nothing: starts next"):
					t.Errorf("%s: %+v, want it to start next", name, v.Wait)
				case want > 0 && (v.Wait == nil || v.Position != want || v.WaitingOn != "pool p"):
					t.Errorf("%s: %+v, want %s in line on pool p", name, v.Wait, Ordinal(want))
				}
			}
			if t.Failed() {
				for _, r := range got.Runs {
					t.Logf("%s %s %+v", r.Name(), r.State(), got.Waits[r.Name()])
				}
			}
		})
	}
}

// TestStartedJobsUnreadable: a failed list of the candidates' Jobs leaves
// the runs as stored. A Forbidden one is what a user who may not list Jobs
// always gets, so it is silent; any other failure is said in a warning,
// and the snapshot read is left as it was.
func TestStartedJobsUnreadable(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		err  error
		warn string
	}{
		{"forbidden", apierrors.NewForbidden(batchv1.Resource("jobs"), "", errors.New("no")), ""},
		{"server error", apierrors.NewInternalError(errors.New("etcdserver: request timed out")), "etcdserver: request timed out"},
		{"timeout", apierrors.NewTimeoutError("the list took too long", 1), "the list took too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewSimpleClientset()
			kube.PrependReactor("list", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.err })
			c := New(kube, Options{Namespace: "ns", Now: func() time.Time { return now }})
			s := startedSnapshot(t, now)
			got := c.withStartedFromAPI(context.Background(), s)
			for _, name := range []string{"a1", "a2", "a3", "a4"} {
				if st := got.Run(name).State(); st != v1alpha1.StateScheduled {
					t.Errorf("%s: %s, want Scheduled as stored", name, st)
				}
			}
			switch {
			case tc.warn == "" && len(got.Warnings) > 0:
				t.Errorf("warnings %q, want none", got.Warnings)
			case tc.warn != "" && (len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], tc.warn) || !strings.Contains(got.Warnings[0], "Jobs")):
				t.Errorf("warnings %q, want one naming the Jobs and %q", got.Warnings, tc.warn)
			}
			if len(s.Warnings) > 0 {
				t.Errorf("the snapshot read was changed: %q", s.Warnings)
			}
		})
	}
}
