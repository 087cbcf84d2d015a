package v1alpha1

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// AttemptJobName names the Job of a run's attempt (1 for the first). The
// first keeps the run's JobName, so a run without retries has the Job it
// always had; a later one adds the attempt number, so every attempt's
// create finds AlreadyExists if it was made before, whoever makes it.
func AttemptJobName(run string, attempt int32) string {
	if attempt <= 1 {
		return JobName(run)
	}
	return JobName(fmt.Sprintf("%s-attempt-%d", run, attempt))
}

// AttemptStatus is one ended attempt of a run, as its status lists it.
type AttemptStatus struct {
	Attempt int32  `json:"attempt"`
	JobName string `json:"jobName,omitempty"`
	// Outcome is Completed, Failed, Crashed or Evicted (see RetryPolicy).
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// ExitCode is the flow container's, when it exited.
	ExitCode    *int32       `json:"exitCode,omitempty"`
	PendingTime *metav1.Time `json:"pendingTime,omitempty"`
	StartTime   *metav1.Time `json:"startTime,omitempty"`
	EndTime     *metav1.Time `json:"endTime,omitempty"`
}

// ReasonRetrying is the reason of a run waiting (Scheduled) for its next
// attempt.
const ReasonRetrying = "Retrying"

// AwaitingRetry reports whether the run waits for its next attempt.
func (st *RunStatus) AwaitingRetry() bool {
	return st.State == StateScheduled && st.Reason == ReasonRetrying
}

// CurrentAttempt is the run's attempt in flight or next: 1 unless it was
// retried.
func (st *RunStatus) CurrentAttempt() int32 { return max(st.Attempt, 1) }

// RetryText says where a run awaiting its retry is, as get and describe
// show its state: "Retrying (attempt 2 of 3, in 40s: Evicted)"; "" for a
// run that is not awaiting one.
func RetryText(st *RunStatus, now time.Time) string {
	if !st.AwaitingRetry() {
		return ""
	}
	when := "due"
	if st.RetryTime != nil && st.RetryTime.After(now) {
		when = "in " + duration.HumanDuration(st.RetryTime.Sub(now))
	}
	last := ""
	if n := len(st.Attempts); n > 0 {
		last = ": " + st.Attempts[n-1].Outcome
	}
	return fmt.Sprintf("Retrying (attempt %d of %d, %s%s)", st.CurrentAttempt(), st.MaxAttempts, when, last)
}
