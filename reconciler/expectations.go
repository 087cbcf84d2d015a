package reconciler

import (
	"sync"
	"time"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

// expectations cover the window between a write and the informer showing
// it. Without them a dispatch pass that runs on a stale cache would count a
// just-admitted run's slot as free and admit another: the limit would be
// exceeded. Each entry is dropped as soon as the cache shows the write.
type expectations struct {
	mu     sync.Mutex
	claims map[string]claim
	// behind holds, per run, the resourceVersion a status write replaced
	// until the cache shows a newer one: a sync that reads that version
	// would write over it and only earn a conflict. (A Running write
	// followed within a moment by Completed did so 50 times in a burst of
	// a thousand runs.)
	behind map[string]string
}

// claim is a write for a run that the cache may not show yet: a status
// write (the state written), or a Job create (state Pending).
type claim struct {
	state v1alpha1.RunState
	slots planner.Slots
	at    time.Time
	// job is the Job a create claim waits for: the Job of the run's
	// attempt, so an earlier attempt's Job showing never ends it.
	job string
}

// claimTTL bounds a claim that is never observed (its run deleted in a way
// the watch missed), so it cannot hold a slot forever.
const claimTTL = 2 * time.Minute

func newExpectations() *expectations {
	return &expectations{claims: map[string]claim{}, behind: map[string]string{}}
}

func (e *expectations) claim(run string, state v1alpha1.RunState, s planner.Slots, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.claims[run] = claim{state: state, slots: s, at: now}
}

// claimJob claims the create of a run's attempt's Job (state Pending).
func (e *expectations) claimJob(run, job string, s planner.Slots, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.claims[run] = claim{state: v1alpha1.StatePending, slots: s, at: now, job: job}
}

// drop removes a claim whose write failed.
func (e *expectations) drop(run string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.end(run)
}

// end removes a run's claim. A Go map keeps the table it grew to when
// emptied, and ten thousand runs taken in at once leave one of several
// hundred KB behind; once no claim is left a fresh map gives it back.
func (e *expectations) end(run string) {
	delete(e.claims, run)
	if len(e.claims) == 0 {
		e.claims = map[string]claim{}
	}
}

// caughtUp removes a run's record of a replaced version, the same way.
func (e *expectations) caughtUp(run string) {
	delete(e.behind, run)
	if len(e.behind) == 0 {
		e.behind = map[string]string{}
	}
}

// observe is called with the state the cache shows; once it shows the
// claimed state or any later one, a status write's claim has done its work.
// A Job create's claim waits for the Job (observeJob).
func (e *expectations) observe(run string, cached v1alpha1.RunState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.claims[run]
	if !ok || c.state == v1alpha1.StatePending {
		return
	}
	if cached == c.state || (cached != "" && cached != v1alpha1.StateScheduled) {
		e.end(run)
	}
}

// pending returns the claim for a run, if one is in force.
func (e *expectations) pending(run string, now time.Time) (claim, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.claims[run]
	if ok && now.Sub(c.at) > claimTTL {
		e.end(run)
		return claim{}, false
	}
	return c, ok
}

// snapshot copies the claims in force. A dispatch pass takes it before it
// lists the cache: a claim can only disappear after the cache shows its
// write, so every run is then seen either claimed or as written. Read the
// other way round, a write landing mid-pass could hide from both.
func (e *expectations) snapshot(now time.Time) map[string]claim {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]claim, len(e.claims))
	for run, c := range e.claims {
		if now.Sub(c.at) > claimTTL {
			e.end(run) // a fresh map only once this one is empty: the range is over
			continue
		}
		out[run] = c
	}
	return out
}

func (e *expectations) forget(run string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.end(run)
	e.caughtUp(run)
}

// replaced records that a status write replaced a run's resourceVersion rv.
func (e *expectations) replaced(run, rv string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.behind[run] = rv
}

// stale reports whether the cache's version of a run, rv, is one our own
// write has replaced.
func (e *expectations) stale(run, rv string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	old, ok := e.behind[run]
	return ok && old == rv
}

// observeVersion is called with each version of a run the cache shows;
// any but the replaced one ends the record.
func (e *expectations) observeVersion(run, rv string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.behind[run]; ok && old != rv {
		e.caughtUp(run)
	}
}

// observeJob is called when the cache shows a run's Job: the claim of the
// admission in flight that made it has done its work.
func (e *expectations) observeJob(run, job string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.claims[run]; ok && c.state == v1alpha1.StatePending && c.job == job {
		e.end(run)
	}
}
