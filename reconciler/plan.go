package reconciler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// planInput is what a dispatch pass decides from: a snapshot of the config,
// the runs waiting for a slot, each with its verdict under that config
// (admitWaiting), and the slots in use. plan reads nothing else, and
// writes none of it: no client, no cache, no clock.
type planInput struct {
	now       time.Time
	namespace string
	cfg       *project.Installed
	cfgGen    uint64 // configGeneration of the ConfigMaps cfg was built from
	waiting   []waitingRun
	// held counts the unfinished Jobs holding a slot of a limit.
	held func(kind, name string) int32
	// creating are the slots of the Job creates in flight whose Job the
	// cache does not show yet: they count as held.
	creating []slots
	// rates are the start buckets of the tags with a rate, replayed from
	// the starts made (rateBuckets); plan takes a token, from its own copy,
	// for each start it decides.
	rates map[string]*project.StartBucket
}

// waitingRun is a run whose stored state is new or Scheduled, with what
// the caches say of it.
type waitingRun struct {
	cm *corev1.ConfigMap
	pr *parsedRun // nil for a run that has its Job
	// state is the run's stored state, or the state a status write in
	// flight claims for it.
	state v1alpha1.RunState
	// creating says its Job's create is in flight (a Pending claim).
	creating bool
	// hasJob says the cache shows the run's own Job.
	hasJob bool
	// jobName is the run's derived Job name when a Job that is not the
	// run's holds it; nameTakenBy is then the live run that controls that
	// Job, or "" if its run is gone and the garbage collector will take it.
	jobName, nameTakenBy string
	// inflight says a write decided by an earlier pass is under way.
	inflight bool
	// refusedUntil is when the back-off of the API server's refusals of
	// the run's writes ends (zero: none).
	refusedUntil time.Time
	cancel       bool // a cancel is requested; syncRun carries it out
	// parent is what the caches show of the run its request names as its
	// parent (zero when it names none).
	parent parentSeen
	// attempt is the run's attempt to make (1 unless it is a retry), and
	// retryAt when a retry is due (zero: no retry).
	attempt int32
	retryAt time.Time
}

// due is when a run may start: its scheduled time, or its retry's.
func (w *waitingRun) due(a *admission) time.Time {
	if w.retryAt.After(a.scheduled) {
		return w.retryAt
	}
	return a.scheduled
}

// awaitsSlot says a run is new or Scheduled, with no cancel asked.
func (w *waitingRun) awaitsSlot() bool {
	return (w.state == "" || w.state == v1alpha1.StateScheduled) && !w.cancel
}

// judged says plan judges the run this pass, by the verdict admitWaiting
// leaves in its parsedRun: it awaits a slot, has no Job and none being
// created, its Job name is free, and no write of it is under way or
// backed off.
func (w *waitingRun) judged(now time.Time) bool {
	return !w.creating && !w.hasJob && w.jobName == "" && w.awaitsSlot() && !w.inflight && !now.Before(w.refusedUntil)
}

// admitWaiting gives every run plan will judge its verdict under the
// pass's config (admit), in its parsedRun: outside plan, so that plan only
// reads. A verdict is kept for the config generation it was reached under,
// so a run waiting for a slot is validated once, not every pass; a wait for
// config is looked at again each pass. Runs with no values of their own
// share the pass's resolution of their deployment's defaults.
func admitWaiting(in planInput) {
	defaults := map[string]*resolvedValues{}
	for i := range in.waiting {
		w := &in.waiting[i]
		if !w.judged(in.now) {
			continue
		}
		pr := w.pr
		if pr.cfgGen == in.cfgGen && (pr.admission != nil || pr.admitErr != nil) {
			continue
		}
		pr.admission, pr.admitErr, pr.admitWait = admit(in.cfg, defaults, in.namespace, w.cm, pr.req, pr.reqErr)
		pr.cfgGen = in.cfgGen
		if pr.admitWait != nil {
			pr.cfgGen = 0 // look again next pass
		}
	}
}

// decisionKind is what a pass decides for a run.
type decisionKind int

const (
	decideAdmit     decisionKind = iota // create its Job
	decideReject                        // end it Rejected
	decideCancelNew                     // end it Cancelled: its deployment is full and says CancelNew
	decideWait                          // leave it Scheduled, saying why
)

// decision is what a pass decided for one run.
type decision struct {
	run       *waitingRun
	kind      decisionKind
	admission *admission // admit, cancel-new, and waits after admission
	rejection *rejection // reject
	// reason and message say why a run waits; on names what it waits on:
	// the limit with no free slot, what is paused, or the tag whose start
	// rate holds it back ("tag db").
	reason, message, on string
	// until is when a run waiting for its time (or its retry's) or for a
	// tag's start rate may start.
	until time.Time
}

// writes reports whether a decision calls for a write. A run that waits
// has its Scheduled status written once, when it is new: a pass finding
// it still waiting, for whatever reason, writes nothing.
func (d decision) writes() bool {
	return d.kind != decideWait || d.run.state == ""
}

// planned is the outcome of a pass.
type planned struct {
	decisions []decision
	// counts are the waiting runs by state, Late apart.
	counts map[v1alpha1.RunState]int
	// usage is the slots in use after the admissions.
	usage *usage
	// wake is when a run not yet due, or backed off, is next due; zero if
	// none is.
	wake time.Time
	// waitsForSlot says a run was left waiting for a free slot.
	waitsForSlot bool
	// retryForeign says a run's Job name is held by a Job the garbage
	// collector is about to delete.
	retryForeign bool
}

// plan decides a dispatch pass. Waiting runs are admitted in order: queue
// priority, then scheduled time, then creation, then name. A run blocked
// on one limit does not block runs that do not need that limit. Runs
// already being written, backed off, cancelled, not yet due or paused are
// settled before the sort. plan is pure: it reads each run's verdict,
// which admitWaiting made before, and changes nothing it is given.
func plan(in planInput) planned {
	out := planned{counts: map[v1alpha1.RunState]int{}, usage: newUsage(in.held)}
	rates := ownBuckets(in.rates)
	for _, s := range in.creating {
		out.usage.add(s)
	}
	var cands []*waitingRun
	for i := range in.waiting {
		w := &in.waiting[i]
		if w.creating { // its Job is being created
			out.counts[v1alpha1.StatePending]++
			continue
		}
		if w.hasJob {
			if w.state == "" || w.state == v1alpha1.StateScheduled {
				out.counts[v1alpha1.StatePending]++
			} else {
				out.counts[w.state]++
			}
			continue
		}
		out.counts[w.state]++
		if w.jobName != "" {
			// Its Job's name is taken. By a Job of a run that is gone:
			// wait for the garbage collector. By a live run's: this run
			// can never have its Job.
			switch {
			case w.nameTakenBy == "":
				out.retryForeign = true
			case !w.inflight:
				out.decisions = append(out.decisions, decision{run: w, kind: decideReject, rejection: &rejection{ReasonJobNameTaken,
					fmt.Sprintf("the Job name %s derived from this run's name belongs to run %s; create the run under another name", w.jobName, w.nameTakenBy)}})
			}
			continue
		}
		if w.awaitsSlot() {
			cands = append(cands, w)
		}
	}

	type ready struct {
		w        *waitingRun
		priority int32
	}
	var queue []ready
	wakeAt := func(t time.Time) {
		if out.wake.IsZero() || t.Before(out.wake) {
			out.wake = t
		}
	}
	for _, w := range cands {
		if !w.judged(in.now) { // a write of it is under way, or backed off
			if !w.inflight {
				wakeAt(w.refusedUntil)
			}
			continue
		}
		pr := w.pr
		if pr.admitWait != nil {
			out.decisions = append(out.decisions, decision{run: w, kind: decideWait, reason: "WaitingForConfig", message: pr.admitWait.message})
			continue
		}
		if pr.admitErr != nil {
			out.decisions = append(out.decisions, decision{run: w, kind: decideReject, rejection: pr.admitErr})
			continue
		}
		// A retry's parent was accepted with its first attempt.
		if rej := parentVerdict(pr.req, w.parent); rej != nil && w.attempt <= 1 {
			out.decisions = append(out.decisions, decision{run: w, kind: decideReject, rejection: rej})
			continue
		}
		// Runs that cannot take a slot now, not yet due or paused, are
		// settled before the sort: their order does not matter, and ten
		// thousand runs in a paused pool made the sort most of a pass.
		a := pr.admission
		if due := w.due(a); due.After(in.now) {
			wakeAt(due)
			out.decisions = append(out.decisions, decision{run: w, kind: decideWait, admission: a, reason: "Scheduled", message: "waiting for its scheduled time", until: due})
			continue
		}
		if in.now.Sub(w.due(a)) > project.LateAfter {
			// Late is shown, never stored: counted here for the metric.
			out.counts[w.state]--
			out.counts[v1alpha1.StateLate]++
		}
		if what := paused(a); what != "" {
			out.decisions = append(out.decisions, decision{run: w, kind: decideWait, admission: a, reason: "Paused", message: what + " is paused", on: what})
			continue
		}
		queue = append(queue, ready{w, queuePriority(a)})
	}
	// Names are unique, so the order is total and need not be stable.
	slices.SortFunc(queue, func(x, y ready) int {
		if x.priority != y.priority {
			return cmp.Compare(x.priority, y.priority)
		}
		if tx, ty := x.w.due(x.w.pr.admission), y.w.due(y.w.pr.admission); !tx.Equal(ty) {
			return tx.Compare(ty)
		}
		if tx, ty := x.w.cm.CreationTimestamp.Time, y.w.cm.CreationTimestamp.Time; !tx.Equal(ty) {
			return tx.Compare(ty)
		}
		return strings.Compare(x.w.cm.Name, y.w.cm.Name)
	})

	for _, r := range queue {
		a := r.w.pr.admission
		limit, deploymentFull := out.usage.blocked(in.cfg, a.pool, a.deployment, a.slots)
		// CancelNew turns away new runs; a retry was admitted once, and
		// waits for its slot.
		if deploymentFull && a.deployment.CollisionStrategy == v1alpha1.CollisionCancelNew && r.w.attempt <= 1 {
			out.decisions = append(out.decisions, decision{run: r.w, kind: decideCancelNew, admission: a})
			continue
		}
		if limit != "" {
			out.waitsForSlot = true
			out.decisions = append(out.decisions, decision{run: r.w, kind: decideWait, admission: a, reason: "WaitingForSlot", message: "waiting for a free slot of " + limit, on: limit})
			continue
		}
		if wait := startRate(rates, r.w, a); wait != nil {
			wakeAt(wait.until)
			out.decisions = append(out.decisions, *wait)
			continue
		}
		out.usage.add(a.slots)
		out.decisions = append(out.decisions, decision{run: r.w, kind: decideAdmit, admission: a})
	}
	return out
}

// ownBuckets copies the start buckets plan is given, to take tokens from.
func ownBuckets(in map[string]*project.StartBucket) map[string]*project.StartBucket {
	own := make(map[string]*project.StartBucket, len(in))
	for tag, b := range in {
		c := *b
		own[tag] = &c
	}
	return own
}

// startRate takes a start from the bucket of each of a run's tags that
// has a rate, or, when one has no token now, takes none and decides that
// the run waits, until the bucket has one.
func startRate(rates map[string]*project.StartBucket, w *waitingRun, a *admission) *decision {
	for _, t := range a.slots.Tags {
		if b := rates[t]; b != nil && !b.Allows() {
			next := b.Next()
			return &decision{run: w, kind: decideWait, admission: a, reason: "WaitingForRate", on: project.SlotTag + " " + t, until: next,
				message: fmt.Sprintf("waiting for the start rate of tag %s (next start at %s)", t, next.UTC().Format(time.RFC3339))}
		}
	}
	for _, t := range a.slots.Tags {
		if b := rates[t]; b != nil {
			b.Take()
		}
	}
	return nil
}

func queuePriority(a *admission) int32 {
	if q := a.pool.Queue(a.deployment.Queue); q != nil {
		return q.Priority
	}
	return v1alpha1.DefaultQueuePriority
}

// paused names what holds a run back by being paused (project.PauseOf),
// or "".
func paused(a *admission) string {
	switch project.PauseOf(a.pool, a.deployment.Queue, a.deployment).Level {
	case project.PausePool:
		return "pool " + a.pool.Name
	case project.PauseQueue:
		return "queue " + a.pool.Name + "/" + a.deployment.Queue
	case project.PauseDeployment:
		return "deployment " + a.deployment.FullName()
	}
	return ""
}
