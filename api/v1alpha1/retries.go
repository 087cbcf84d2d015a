package v1alpha1

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RetryPolicy says when a run whose attempt did not complete is tried
// again, on a pool (the default of its deployments) or a deployment. Every
// attempt is a Job of its own, made once: an attempt that ends frees its
// slots, and the next waits for its delay and then for its turn in the
// queue like any run.
type RetryPolicy struct {
	// Attempts is the most attempts a run makes, the first included:
	// 3 is Prefect's retries: 2.
	Attempts int32 `json:"attempts"`
	// Delay is how long after an attempt ends the next may start; unset
	// is DefaultRetryDelay.
	Delay *metav1.Duration `json:"delay,omitempty"`
	// Backoff multiplies the delay after each retry; unset is 1 (every
	// delay the same).
	Backoff *float64 `json:"backoff,omitempty"`
	// MaxDelay caps the delay; unset is no cap.
	MaxDelay *metav1.Duration `json:"maxDelay,omitempty"`
	// On names the outcomes that are retried; unset is all of them.
	On []string `json:"on,omitempty"`
	// NeverOnExitCodes are exit codes of the flow that are never retried,
	// whatever On says (as a Job's podFailurePolicy FailJob rule).
	NeverOnExitCodes []int32 `json:"neverOnExitCodes,omitempty"`
}

// The outcomes of an attempt, as a retry policy's On names them.
const (
	// OutcomeCrashed: the pod never started (pod_watch_timeout_seconds),
	// its node was lost, or the Job vanished.
	OutcomeCrashed = "Crashed"
	// OutcomeEvicted: the pod was disrupted (its DisruptionTarget
	// condition: the Eviction API, preemption, node pressure).
	OutcomeEvicted = "Evicted"
	// OutcomeFailed: the flow itself failed (its container exited non-zero,
	// or it ran past its timeout).
	OutcomeFailed = "Failed"
	// OutcomeCompleted is an attempt that succeeded; never retried.
	OutcomeCompleted = "Completed"
)

// RetryOutcomes are the outcomes a policy may retry, in the order they are
// listed.
var RetryOutcomes = []string{OutcomeCrashed, OutcomeEvicted, OutcomeFailed}

// DefaultRetryDelay is the delay of a policy that sets none: as long as
// the Job controller's first back-off, so a crashing flow does not spin.
const DefaultRetryDelay = 10 * time.Second

// MaxRetryAttempts bounds a policy's attempts: every attempt is a Job and
// a record in the run's status.
const MaxRetryAttempts = 100

// RunOverrideTimeout is the name runOverrides gives a run's own timeout
// (RunRequest.Timeout): not a job variable, but allowed the same way.
const RunOverrideTimeout = "timeout"

// Retries reports whether the policy retries an attempt that ended with
// outcome.
func (p *RetryPolicy) Retries(outcome string) bool {
	if p == nil || outcome == OutcomeCompleted {
		return false
	}
	return len(p.On) == 0 || slices.Contains(p.On, outcome)
}

// NeverRetried reports whether exit code is one the policy never retries.
func (p *RetryPolicy) NeverRetried(code int32) bool {
	return p != nil && slices.Contains(p.NeverOnExitCodes, code)
}

// DelayAfter is how long after attempt (1 for the first) ends the next may
// start: Delay × Backoff^(attempt-1), at most MaxDelay.
func (p *RetryPolicy) DelayAfter(attempt int32) time.Duration {
	d := DefaultRetryDelay
	if p.Delay != nil {
		d = p.Delay.Duration
	}
	f := 1.0
	if p.Backoff != nil {
		f = *p.Backoff
	}
	grown := float64(d) * math.Pow(f, float64(max(attempt-1, 0)))
	limit := float64(math.MaxInt64 / 2)
	if p.MaxDelay != nil {
		limit = float64(p.MaxDelay.Duration)
	}
	if grown > limit {
		return time.Duration(limit)
	}
	return time.Duration(grown)
}

// String says the policy in one line, for describe.
func (p *RetryPolicy) String() string {
	if p == nil {
		return "none"
	}
	on := RetryOutcomes
	if len(p.On) > 0 {
		on = p.On
	}
	s := fmt.Sprintf("%d attempts on %s, delay %s", p.Attempts, strings.Join(on, ", "), p.DelayAfter(1))
	if p.Backoff != nil && *p.Backoff != 1 {
		s += fmt.Sprintf(" ×%g", *p.Backoff)
	}
	if p.MaxDelay != nil {
		s += " up to " + p.MaxDelay.Duration.String()
	}
	if len(p.NeverOnExitCodes) > 0 {
		codes := make([]string, len(p.NeverOnExitCodes))
		for i, c := range p.NeverOnExitCodes {
			codes[i] = fmt.Sprint(c)
		}
		s += "; never after exit code " + strings.Join(codes, ", ")
	}
	return s
}
