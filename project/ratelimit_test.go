package project

import (
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestReplayStarts(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	perSecond := v1alpha1.Rate{N: 60, Per: time.Minute}
	ago := func(ds ...time.Duration) []time.Time {
		var out []time.Time
		for _, d := range ds {
			out = append(out, now.Add(-d))
		}
		return out
	}
	cases := []struct {
		name   string
		rate   v1alpha1.Rate
		burst  int32
		starts []time.Time
		allows bool
		next   time.Time
	}{
		{"no starts: full", perSecond, 5, nil, true, now},
		{"a burst just made: empty, one token a second", perSecond, 5, ago(0, 0, 0, 0, 0), false, now.Add(time.Second)},
		{"four of five: one left", perSecond, 5, ago(0, 0, 0, 0), true, now},
		{"a burst a while ago: refilled", perSecond, 5, ago(10*time.Second, 10*time.Second, 10*time.Second, 10*time.Second, 10*time.Second), true, now},
		{"starts in any order", perSecond, 2, ago(0, time.Hour, 300*time.Millisecond), false, now.Add(700 * time.Millisecond)},
		{"starts before the horizon are not looked at", perSecond, 1, ago(101 * time.Second), true, now},
		{"a start recorded a moment ahead takes back what it did not earn", perSecond, 1, []time.Time{now.Add(200 * time.Millisecond)}, false, now.Add(1200 * time.Millisecond)},
		{"slow rate: 10/m, burst 3, three in the last 6 s: one token left", v1alpha1.Rate{N: 10, Per: time.Minute}, 3, ago(6*time.Second, 3*time.Second, 0), true, now},
		{"slow rate: three in the last 2 s: a third of a token", v1alpha1.Rate{N: 10, Per: time.Minute}, 3, ago(2*time.Second, time.Second, 0), false, now.Add(4 * time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := ReplayStarts(tc.rate, tc.burst, tc.starts, now)
			if b.Allows() != tc.allows || !b.Next().Equal(tc.next) {
				t.Errorf("allows %v, next %v; want %v, %v", b.Allows(), b.Next(), tc.allows, tc.next)
			}
		})
	}
}

// TestStartBucketBounds drives a saturated tag through replayed buckets,
// as the reconciler does (a replay per decision, starts made at each
// bucket's Next), and checks what the limit promises: no window of one
// period holds more than burst + N starts, and the long-run rate is within
// 2% under the rate, never over it.
func TestStartBucketBounds(t *testing.T) {
	for _, tc := range []struct {
		rate  v1alpha1.Rate
		burst int32
	}{
		{v1alpha1.Rate{N: 60, Per: time.Minute}, 5},
		{v1alpha1.Rate{N: 10, Per: time.Minute}, 3},
		{v1alpha1.Rate{N: 120, Per: time.Minute}, 1},
	} {
		start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		now := start
		var starts []time.Time
		span := 20 * tc.rate.Per
		for now.Before(start.Add(span)) {
			b := ReplayStarts(tc.rate, tc.burst, starts, now)
			if !b.Allows() {
				now = b.Next()
				continue
			}
			starts = append(starts, now)
			now = now.Add(3 * time.Millisecond) // a pass's own time
		}
		most := 0
		for i := range starts {
			n := 0
			for j := i; j < len(starts) && starts[j].Sub(starts[i]) < tc.rate.Per; j++ {
				n++
			}
			most = max(most, n)
		}
		if limit := int(tc.burst + tc.rate.N); most > limit {
			t.Errorf("%s burst %d: %d starts within one period, more than %d", tc.rate, tc.burst, most, limit)
		}
		// After the first burst, the rate itself.
		got := float64(len(starts)-int(tc.burst)) / span.Seconds()
		want := float64(tc.rate.N) / tc.rate.Per.Seconds()
		if got > want*1.0001 || got < want*0.98 {
			t.Errorf("%s burst %d: %.4f starts/s over %v, want %.4f (at most, and within 2%%)", tc.rate, tc.burst, got, span, want)
		}
		t.Logf("%s burst %d: at most %d starts in a period, %.4f/s against %.4f/s", tc.rate, tc.burst, most, got, want)
	}
}
