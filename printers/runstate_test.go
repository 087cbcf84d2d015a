package printers

import (
	"bytes"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// TestEndSummary: a Completed run's line says how long it ran; any other
// end adds its reason and message, which `run --wait` returns as its error.
func TestEndSummary(t *testing.T) {
	started, ended := metav1.NewTime(clock.Add(-3*time.Minute)), metav1.NewTime(clock.Add(-time.Minute))
	for _, tc := range []struct {
		st   v1alpha1.RunStatus
		want string
	}{
		{v1alpha1.RunStatus{State: v1alpha1.StateCompleted, Reason: "Done", StartTime: &started, EndTime: &ended}, "run r Completed after 2m"},
		{v1alpha1.RunStatus{State: v1alpha1.StateFailed, Reason: "BackoffLimitExceeded", Message: "exit 1", StartTime: &started, EndTime: &ended},
			"run r Failed after 2m: BackoffLimitExceeded: exit 1"},
		{v1alpha1.RunStatus{State: v1alpha1.StateRejected, Reason: "InvalidParameters"}, "run r Rejected: InvalidParameters"},
		{v1alpha1.RunStatus{State: v1alpha1.StateCancelled, StartTime: &started}, "run r Cancelled"},
	} {
		if got := EndSummary(runWith(t, "r", &tc.st), clock); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.st.State, got, tc.want)
		}
	}
}

// TestLogTail: the saved end of a log between marker lines, ended by a
// newline whether or not it had one; nothing when none was saved.
func TestLogTail(t *testing.T) {
	for tail, want := range map[string]string{
		"":          "",
		"boom":      "--- last lines of the pod's log ---\nboom\n---\n",
		"a\nboom\n": "--- last lines of the pod's log ---\na\nboom\n---\n",
	} {
		var b bytes.Buffer
		LogTail(&b, tail)
		if b.String() != want {
			t.Errorf("LogTail(%q) = %q, want %q", tail, b.String(), want)
		}
	}
}

// TestStateLines: a line for each change of state, reason or message and
// of what the run waits on; none for a repeat.
func TestStateLines(t *testing.T) {
	var b bytes.Buffer
	l := NewStateLines(&b, func() time.Time { return clock })
	scheduled := runWith(t, "r", &v1alpha1.RunStatus{State: v1alpha1.StateScheduled})
	l.Run(scheduled)
	l.Wait(v1alpha1.StateScheduled, "waiting on pool small")
	l.Run(scheduled)
	l.Wait(v1alpha1.StateScheduled, "waiting on pool small")
	l.Run(runWith(t, "r", &v1alpha1.RunStatus{State: v1alpha1.StateRunning, Reason: "PodRunning", Message: "on node-1"}))
	want := "2026-11-22T10:00:00Z  Scheduled\n" +
		"2026-11-22T10:00:00Z  Scheduled  waiting on pool small\n" +
		"2026-11-22T10:00:00Z  Running    PodRunning: on node-1\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
