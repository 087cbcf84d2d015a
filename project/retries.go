package project

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RetryPolicy says when a run whose attempt did not complete is tried
// again. Every attempt is a Job of its own, made once: an attempt that
// ends frees its slots, and the next waits for its delay and then for its
// turn in the queue like any run.
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

// Bounds of a retry policy: every attempt is a Job and a record in the
// run's status.
const (
	MaxRetryAttempts = 100
	maxRetryBackoff  = 100
	maxExitCodes     = 255
)

// EffectiveRetries is the retry policy of deployment d's runs: its own,
// else its pool's; nil when neither sets one.
func EffectiveRetries(pool *Pool, d *Deployment) *RetryPolicy {
	if d != nil && d.Retries != nil {
		return d.Retries
	}
	if pool != nil {
		return pool.Retries
	}
	return nil
}

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

// String says the policy in one line, for describe and review.
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

// validateRetries checks a pool's or deployment's retry policy; owner
// names it ("deployment hello/default") in every message.
func validateRetries(e *errs, fld *field.Path, owner string, p *RetryPolicy) {
	if p == nil {
		return
	}
	if p.Attempts < 1 || p.Attempts > MaxRetryAttempts {
		e.add(fld.Child("attempts").String(), "%s: must be 1 to %d (the first attempt included; 1 retries nothing), got %d", owner, MaxRetryAttempts, p.Attempts)
	}
	if p.Delay != nil && p.Delay.Duration < 0 {
		e.add(fld.Child("delay").String(), "%s: must not be negative, got %s", owner, p.Delay.Duration)
	}
	if p.MaxDelay != nil {
		switch {
		case p.MaxDelay.Duration <= 0:
			e.add(fld.Child("maxDelay").String(), "%s: must be a positive duration such as 5m, got %s", owner, p.MaxDelay.Duration)
		case p.Delay != nil && p.MaxDelay.Duration < p.Delay.Duration:
			e.add(fld.Child("maxDelay").String(), "%s: %s is shorter than delay %s", owner, p.MaxDelay.Duration, p.Delay.Duration)
		}
	}
	if b := p.Backoff; b != nil && (math.IsNaN(*b) || *b < 1 || *b > maxRetryBackoff) {
		e.add(fld.Child("backoff").String(), "%s: must be from 1 (every delay the same) to %d, got %g", owner, maxRetryBackoff, *b)
	}
	if p.On != nil && len(p.On) == 0 {
		e.add(fld.Child("on").String(), "%s: lists no outcome; leave it out to retry %s, or name some", owner, strings.Join(RetryOutcomes, ", "))
	}
	seen := map[string]bool{}
	for i, o := range p.On {
		fo := fld.Child("on").Index(i).String()
		switch {
		case !slices.Contains(RetryOutcomes, o):
			msg := fmt.Sprintf("%s: %s is not an outcome a run is retried on (one of %s)", owner, quoteInput(o), strings.Join(RetryOutcomes, ", "))
			if c := Closest(o, RetryOutcomes, 1); len(c) > 0 {
				msg += "; did you mean " + c[0] + "?"
			}
			e.add(fo, "%s", msg)
		case seen[o]:
			e.add(fo, "%s: %s listed twice", owner, o)
		}
		seen[o] = true
	}
	if len(p.NeverOnExitCodes) > maxExitCodes {
		e.add(fld.Child("neverOnExitCodes").String(), "%s: at most %d exit codes, got %d", owner, maxExitCodes, len(p.NeverOnExitCodes))
	}
	codes := map[int32]bool{}
	for i, c := range p.NeverOnExitCodes {
		fc := fld.Child("neverOnExitCodes").Index(i).String()
		switch {
		case c < 1 || c > 255:
			e.add(fc, "%s: exit code %d: must be 1 to 255 (0 is success)", owner, c)
		case codes[c]:
			e.add(fc, "%s: exit code %d listed twice", owner, c)
		}
		codes[c] = true
	}
}

// validateTimeout checks a pool's or deployment's run timeout.
func validateTimeout(e *errs, fld *field.Path, owner string, d *metav1.Duration) {
	if d != nil && d.Duration <= 0 {
		e.add(fld.String(), "%s: must be a positive duration such as 30m, counted from the pod's start; got %s", owner, d.Duration)
	}
}

// RunOverrideTimeout is the name runOverrides gives a run's own timeout:
// not a job variable, but allowed the same way.
const RunOverrideTimeout = "timeout"

// EffectiveTimeout is how long a run may run, counted from its pod's
// start: the run's own (when its runOverrides allow it), else its
// deployment's, else its pool's; 0 for none.
func EffectiveTimeout(pool *Pool, d *Deployment, run *metav1.Duration) time.Duration {
	for _, t := range []*metav1.Duration{run, d.Timeout, pool.Timeout} {
		if t != nil {
			return t.Duration
		}
	}
	return 0
}

// checkRunTimeout refuses a run's own timeout unless runOverrides allow it.
func checkRunTimeout(pool *Pool, d *Deployment, t *metav1.Duration) error {
	if t == nil {
		return nil
	}
	if !slices.Contains(RunOverrides(pool, d), RunOverrideTimeout) {
		return fmt.Errorf("timeout may not be set by a run of %s (an operator can allow it with runOverrides: [%s] on the pool or deployment)", d.FullName(), RunOverrideTimeout)
	}
	if t.Duration <= 0 {
		return fmt.Errorf("timeout must be a positive duration such as 30m, got %s", t.Duration)
	}
	return nil
}
