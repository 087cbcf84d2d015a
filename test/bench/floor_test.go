package main

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// The watch floor's copy of the reconciler's Job reads back as the
// reconciler reads its own: the run's first status filled from it, and
// held by the run's finalizer.
func TestAsDispatchedReadsAsAReconcilersJob(t *testing.T) {
	now := time.Date(2026, 12, 7, 20, 0, 0, 123456000, time.UTC)
	j := floorJob(&batchv1.Job{}, "ns", "run-00001", "uid-1")
	if err := asDispatched(j, now); err != nil {
		t.Fatal(err)
	}
	var st v1alpha1.RunStatus
	st.FillAdmission(j)
	if st.JobName != v1alpha1.JobName("run-00001") || !slices.Equal(st.Tags, []string{"bench"}) ||
		st.PendingTime == nil || !st.PendingTime.Time.Equal(now) || st.ScheduledTime == nil {
		t.Errorf("status from the Job: job %q, tags %v, pending %v, scheduled %v; want %q, [bench], %v, set",
			st.JobName, st.Tags, st.PendingTime, st.ScheduledTime, v1alpha1.JobName("run-00001"), now)
	}
	if !slices.Contains(j.Finalizers, v1alpha1.FinalizerRunProtection) {
		t.Errorf("finalizers %v; want %s", j.Finalizers, v1alpha1.FinalizerRunProtection)
	}
	if d, err := time.ParseDuration(j.Annotations[v1alpha1.AnnotationPodWatchTimeout]); err != nil || d != 10*time.Minute {
		t.Errorf("pod watch timeout %q; want 10m0s", j.Annotations[v1alpha1.AnnotationPodWatchTimeout])
	}
}
