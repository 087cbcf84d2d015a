package reconciler

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestProgressHeld(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	pending := func(reason string, lasted time.Duration) step {
		return step{state: v1alpha1.StatePending, reason: reason, progress: true, since: now.Add(-lasted)}
	}
	running := step{state: v1alpha1.StateRunning, reason: "Started", progress: true, since: now.Add(-time.Minute)}
	for _, tc := range []struct {
		name      string
		saturated bool
		next      step
		held      bool
	}{
		{"idle API server: a fresh Pending is written", false, pending(v1alpha1.ReasonDispatched, 0), false},
		{"saturated: a fresh Pending waits", true, pending(v1alpha1.ReasonDispatched, time.Second), true},
		{"saturated: a Pending that only says the Job exists waits however long", true, pending(v1alpha1.ReasonDispatched, time.Hour), true},
		{"saturated: a stuck pod's Pending is shown once it lasted", true, pending("ImagePullBackOff", progressHold), false},
		{"saturated: a stuck pod's fresh Pending waits", true, pending("Unschedulable", time.Second), true},
		{"saturated: a long Running is shown", true, running, false},
	} {
		if got := progressHeld(tc.saturated, tc.next, now); got != tc.held {
			t.Errorf("%s: held %v, want %v", tc.name, got, tc.held)
		}
	}
}

func TestLogTailWait(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	failed := func(ended time.Duration) step {
		return step{state: v1alpha1.StateFailed, end: &metav1.Time{Time: now.Add(-ended)}, logTail: true}
	}
	timedOut := failed(0)
	timedOut.deleteJob = true
	busy := apierrors.NewTimeoutError("the kubelet did not answer", 0)
	for _, tc := range []struct {
		name string
		err  error
		next step
		want time.Duration
	}{
		{"read: written", nil, failed(time.Second), 0},
		{"API server or kubelet busy: read again", busy, failed(time.Second), logTailRetry},
		{"a deadline, not an API error: read again", context.DeadlineExceeded, failed(time.Second), logTailRetry},
		{"busy past the grace: written without it", busy, failed(logTailGrace), 0},
		{"the pod is gone: written without it", apierrors.NewNotFound(corev1.Resource("pods"), "r-1-x"), failed(time.Second), 0},
		{"its container never ran: written without it", apierrors.NewBadRequest(`container "flow" in pod "r-1-x" is waiting to start: ContainerCreating`), failed(time.Second), 0},
		{"its Job is being deleted: written without it", busy, timedOut, 0},
	} {
		if got := logTailWait(tc.err, tc.next, now); got != tc.want {
			t.Errorf("%s: wait %v, want %v", tc.name, got, tc.want)
		}
	}
}
