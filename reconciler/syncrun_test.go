package reconciler

import (
	"testing"
	"time"

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
		{"idle API server: a fresh Pending is written", false, pending(ReasonDispatched, 0), false},
		{"saturated: a fresh Pending waits", true, pending(ReasonDispatched, time.Second), true},
		{"saturated: a Pending that only says the Job exists waits however long", true, pending(ReasonDispatched, time.Hour), true},
		{"saturated: a stuck pod's Pending is shown once it lasted", true, pending("ImagePullBackOff", progressHold), false},
		{"saturated: a stuck pod's fresh Pending waits", true, pending("Unschedulable", time.Second), true},
		{"saturated: a long Running is shown", true, running, false},
	} {
		if got := progressHeld(tc.saturated, tc.next, now); got != tc.held {
			t.Errorf("%s: held %v, want %v", tc.name, got, tc.held)
		}
	}
}
