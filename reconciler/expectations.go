package reconciler

import (
	"sync"
	"time"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// expectations cover the window between a write and the informer showing
// it. Without them a dispatch pass that runs on a stale cache would count a
// just-admitted run's slot as free and admit another: the limit would be
// exceeded. Each entry is dropped as soon as the cache shows the write.
type expectations struct {
	mu     sync.Mutex
	claims map[string]claim
	jobs   map[string]*jobExpectation
}

// claim is a state written for a run that the cache may not show yet.
type claim struct {
	state project.RunState
	slots slots
	at    time.Time
}

type jobExpectation struct {
	created time.Time // when we created (or found) the Job; zero if not
	seen    bool      // the cache has shown the Job
	gone    bool      // the cache showed the Job deleted
}

// claimTTL bounds a claim that is never observed (its run deleted in a way
// the watch missed), so it cannot hold a slot forever.
const claimTTL = 2 * time.Minute

func newExpectations() *expectations {
	return &expectations{claims: map[string]claim{}, jobs: map[string]*jobExpectation{}}
}

func (e *expectations) claim(run string, state project.RunState, s slots, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.claims[run] = claim{state: state, slots: s, at: now}
}

// drop removes a claim whose write failed.
func (e *expectations) drop(run string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.claims, run)
}

// observe is called with the state the cache shows; once it shows the
// claimed state or any later one, the claim has done its work.
func (e *expectations) observe(run string, cached project.RunState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.claims[run]
	if !ok {
		return
	}
	if cached == c.state || (cached != "" && cached != project.StateScheduled) {
		delete(e.claims, run)
	}
}

// pending returns the claim for a run, if one is in force.
func (e *expectations) pending(run string, now time.Time) (claim, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.claims[run]
	if ok && now.Sub(c.at) > claimTTL {
		delete(e.claims, run)
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
			delete(e.claims, run)
			continue
		}
		out[run] = c
	}
	return out
}

func (e *expectations) forget(run string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.claims, run)
	delete(e.jobs, run)
}

func (e *expectations) job(run string) *jobExpectation {
	j, ok := e.jobs[run]
	if !ok {
		j = &jobExpectation{}
		e.jobs[run] = j
	}
	return j
}

func (e *expectations) jobCreated(run string, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.job(run).created = now
}

func (e *expectations) jobSeen(run string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.job(run)
	j.seen, j.gone = true, false
}

func (e *expectations) jobGone(run string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.job(run).gone = true
}

// jobState reports what is known of a run's Job beyond the cache.
func (e *expectations) jobState(run string) jobExpectation {
	e.mu.Lock()
	defer e.mu.Unlock()
	if j, ok := e.jobs[run]; ok {
		return *j
	}
	return jobExpectation{}
}
