package project

import (
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// RateHorizon is how far back a tag's starts are replayed: long enough
// that a bucket with no starts in it is full (burst intervals), that a
// whole period is seen, and that the bucket's empty start (below) costs
// at most one start in a hundred.
func RateHorizon(r v1alpha1.Rate, burst int32) time.Duration {
	return max(r.Per, time.Duration(max(burst, 100))*r.Interval())
}

// StartBucket is a token bucket of a tag's starts: it holds at most burst
// tokens, gains N per Per, and each start takes one. It is never stored:
// ReplayStarts rebuilds it from the times runs carrying the tag started
// (their Jobs' admission times), so a restart or a failover of the
// reconciler finds it as it was.
type StartBucket struct {
	rate   v1alpha1.Rate
	burst  float64
	tokens float64
	at     time.Time
}

// ReplayStarts replays the starts (in any order) of the last RateHorizon
// before now into a bucket that was empty at the horizon's start. Empty
// rather than full: the starts before the horizon are not looked at, and
// an empty start can only hold back, never let through, more than the
// rate. With no start in the horizon the bucket is full again.
func ReplayStarts(r v1alpha1.Rate, burst int32, starts []time.Time, now time.Time) *StartBucket {
	b := &StartBucket{rate: r, burst: float64(burst), at: now.Add(-RateHorizon(r, burst))}
	sorted := slices.Clone(starts)
	slices.SortFunc(sorted, func(x, y time.Time) int { return x.Compare(y) })
	for _, t := range sorted {
		if t.After(b.at) || t.Equal(b.at) {
			b.advance(t)
			b.tokens--
		}
	}
	b.advance(now)
	return b
}

// advance refills the bucket up to t (a start recorded a moment later
// than now takes back what it did not yet earn).
func (b *StartBucket) advance(t time.Time) {
	perSecond := float64(b.rate.N) / b.rate.Per.Seconds()
	b.tokens = min(b.burst, b.tokens+t.Sub(b.at).Seconds()*perSecond)
	b.at = t
}

// tokenEpsilon absorbs float rounding: a bucket refilled to its next
// token's exact time holds it.
const tokenEpsilon = 1e-9

// Next is when the next start may be made: the bucket's time if it holds a
// token, else when it will.
func (b *StartBucket) Next() time.Time {
	if b.tokens >= 1-tokenEpsilon {
		return b.at
	}
	wait := (1 - b.tokens) * b.rate.Per.Seconds() / float64(b.rate.N)
	// Rounded up to the millisecond (float noise aside), so a wake-up at
	// Next finds the token.
	return b.at.Add(time.Duration(math.Ceil(wait*1000-1e-6)) * time.Millisecond)
}

// Allows reports whether a start may be made now.
func (b *StartBucket) Allows() bool { return b.tokens >= 1-tokenEpsilon }

// Take records a start at the bucket's time.
func (b *StartBucket) Take() { b.tokens-- }

// NextStart is when the next run carrying a tag limit's tag may start by
// its rate, replayed from the starts given (clients give the runs'
// pendingTimes, client.Usage.Starts); zero for a limit without a rate.
func NextStart(l *v1alpha1.TagLimit, starts []time.Time, now time.Time) time.Time {
	if b := ReplayRate(l, starts, now); b != nil {
		return b.Next()
	}
	return time.Time{}
}

// ReplayRate is a tag limit's start bucket replayed from the starts given
// (ReplayStarts), nil for a limit without a (valid) rate.
func ReplayRate(l *v1alpha1.TagLimit, starts []time.Time, now time.Time) *StartBucket {
	r, err := v1alpha1.ParseRate(l.Rate)
	if l.Rate == "" || err != nil {
		return nil
	}
	return ReplayStarts(r, l.BurstOf(), starts, now)
}

// validateRate checks a tag limit's rate and burst.
func validateRate(e *errs, ft *field.Path, l *v1alpha1.TagLimit) {
	owner := "tag " + v1alpha1.QuoteInput(l.Tag)
	if l.Rate != "" {
		if _, err := v1alpha1.ParseRate(l.Rate); err != nil {
			e.add(ft.Child("rate").String(), "%s: %v", owner, err)
		}
	}
	if l.Burst != nil {
		switch {
		case l.Rate == "":
			e.add(ft.Child("burst").String(), "%s: a burst needs a rate (starts at once within rate); add rate, such as 10/m", owner)
		case *l.Burst < 1:
			e.add(ft.Child("burst").String(), "%s: must be at least 1, got %d", owner, *l.Burst)
		}
	}
}
