package reconciler

import (
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// refused reports whether the API server refused a write for good: the
// request itself is wrong (invalid, too large, malformed), and the same
// write would be refused again. Conflicts, timeouts and throttling are
// not: they are retried.
func refused(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsRequestEntityTooLargeError(err)
}

// refusals back off, per run, writes the API server refused: a run whose
// every write is refused must not be retried at once, for ever: that is a
// hot loop of refused writes.
type refusals struct {
	mu sync.Mutex
	m  map[types.UID]refusal
}

type refusal struct {
	until time.Time
	wait  time.Duration
}

const (
	refusalFirstWait = 5 * time.Second
	refusalMaxWait   = 10 * time.Minute
)

func (r *refusals) add(uid types.UID, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[types.UID]refusal{}
	}
	f := r.m[uid]
	f.wait = min(max(2*f.wait, refusalFirstWait), refusalMaxWait)
	f.until = now.Add(f.wait)
	r.m[uid] = f
}

// blocked returns until when a run's writes wait, if they do.
func (r *refusals) blocked(uid types.UID, now time.Time) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.m[uid]
	if !ok || !now.Before(f.until) {
		return time.Time{}, false
	}
	return f.until, true
}

func (r *refusals) forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, uid)
}
