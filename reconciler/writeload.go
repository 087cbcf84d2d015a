package reconciler

import (
	"sync"
	"time"
)

// writeLoad follows how long the reconciler's own writes (Job creates and
// status writes) take, as a moving average. A saturated API server shows
// it first: its writes queue behind everyone else's. Progress writes,
// which only report, then step aside for the dispatches and final states
// that everything waits on.
type writeLoad struct {
	mu   sync.Mutex
	avg  time.Duration // exponentially weighted, one write weighing 1/8
	n    int           // writes the average holds, counted to loadSamples
	last time.Time
}

// loadMemory is how long an average stands without writes: a reconciler
// that stops writing because the API server was slow must look again.
const loadMemory = 5 * time.Second

// loadSamples is how many writes in a row must make the average before it
// may call the API server saturated. One slow write is not saturation: a
// reconciler dispatching one run at a time in a cluster whose Job creates
// take 80 ms (admission webhooks) would otherwise hold back every run's
// Pending and Running, and `run --wait` would show Scheduled, then the end.
const loadSamples = 8

func (l *writeLoad) observe(took time.Duration, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() || now.Sub(l.last) > loadMemory {
		l.avg, l.n = took, 1
	} else {
		l.avg += (took - l.avg) / 8
		l.n = min(l.n+1, loadSamples)
	}
	l.last = now
}

// slow reports whether recent writes, loadSamples of them at least, took
// longer than limit on average.
func (l *writeLoad) slow(limit time.Duration, now time.Time) bool {
	if limit <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n >= loadSamples && now.Sub(l.last) <= loadMemory && l.avg > limit
}
