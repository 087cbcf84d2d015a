package project

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// Bounds of a retry policy beside v1alpha1.MaxRetryAttempts.
const (
	maxRetryBackoff = 100
	maxExitCodes    = 255
)

// EffectiveRetries is the retry policy of deployment d's runs: its own,
// else its pool's; nil when neither sets one.
func EffectiveRetries(pool *v1alpha1.Pool, d *v1alpha1.Deployment) *v1alpha1.RetryPolicy {
	if d != nil && d.Retries != nil {
		return d.Retries
	}
	if pool != nil {
		return pool.Retries
	}
	return nil
}

// validateRetries checks a pool's or deployment's retry policy; owner
// names it ("deployment hello/default") in every message.
func validateRetries(e *errs, fld *field.Path, owner string, p *v1alpha1.RetryPolicy) {
	if p == nil {
		return
	}
	if p.Attempts < 1 || p.Attempts > v1alpha1.MaxRetryAttempts {
		e.add(fld.Child("attempts").String(), "%s: must be 1 to %d (the first attempt included; 1 retries nothing), got %d", owner, v1alpha1.MaxRetryAttempts, p.Attempts)
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
	validateRetryOn(e, fld.Child("on"), owner, p.On)
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

// validateRetryOn checks a retry policy's on: known outcomes, each once;
// an empty list is refused, as render would write it as no list (all).
func validateRetryOn(e *errs, fld *field.Path, owner string, on []string) {
	all := v1alpha1.RetryOutcomes
	if on != nil && len(on) == 0 {
		e.add(fld.String(), "%s: lists no outcome; leave it out to retry %s, or name some", owner, strings.Join(all, ", "))
	}
	seen := map[string]bool{}
	for i, o := range on {
		fo := fld.Index(i).String()
		switch {
		case !slices.Contains(all, o):
			msg := fmt.Sprintf("%s: %s is not an outcome a run is retried on (one of %s)", owner, v1alpha1.QuoteInput(o), strings.Join(all, ", "))
			if c := Closest(o, all, 1); len(c) > 0 {
				msg += "; did you mean " + c[0] + "?"
			}
			e.add(fo, "%s", msg)
		case seen[o]:
			e.add(fo, "%s: %s listed twice", owner, o)
		}
		seen[o] = true
	}
}

// validateRunPolicies checks a pool's or deployment's (at fld) retry
// policy and run timeout.
func validateRunPolicies(e *errs, fld *field.Path, owner string, p *v1alpha1.RetryPolicy, timeout *metav1.Duration) {
	validateRetries(e, fld.Child("retries"), owner, p)
	if timeout != nil && timeout.Duration <= 0 {
		e.add(fld.Child("timeout").String(), "%s: must be a positive duration such as 30m, counted from the pod's start; got %s", owner, timeout.Duration)
	}
}

// EffectiveTimeout is how long a run may run, counted from its pod's
// start: the run's own (when its runOverrides allow it), else its
// deployment's, else its pool's; 0 for none.
func EffectiveTimeout(pool *v1alpha1.Pool, d *v1alpha1.Deployment, run *metav1.Duration) time.Duration {
	for _, t := range []*metav1.Duration{run, d.Timeout, pool.Timeout} {
		if t != nil {
			return t.Duration
		}
	}
	return 0
}

// checkRunTimeout refuses a run's own timeout unless runOverrides allow it.
func checkRunTimeout(pool *v1alpha1.Pool, d *v1alpha1.Deployment, t *metav1.Duration) error {
	if t == nil {
		return nil
	}
	if !slices.Contains(RunOverrides(pool, d), v1alpha1.RunOverrideTimeout) {
		return fmt.Errorf("timeout may not be set by a run of %s (an operator can allow it with runOverrides: [%s] on the pool or deployment)", d.FullName(), v1alpha1.RunOverrideTimeout)
	}
	if t.Duration <= 0 {
		return fmt.Errorf("timeout must be a positive duration such as 30m, got %s", t.Duration)
	}
	return nil
}
