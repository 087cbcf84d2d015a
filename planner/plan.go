package planner

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

// Input is what a dispatch pass decides from: a snapshot of the config,
// the runs waiting for a slot, each with its verdict under that config
// (AdmitWaiting), and the slots in use. Plan reads nothing else, and
// writes none of it: no client, no cache, no clock.
type Input struct {
	Now       time.Time
	Namespace string
	Config    *project.Installed
	ConfigGen uint64 // configGeneration of the ConfigMaps cfg was built from
	Waiting   []WaitingRun
	// Held counts the unfinished Jobs holding a slot of a limit.
	Held func(kind, name string) int32
	// Creating are the slots of the Job creates in flight whose Job the
	// cache does not show yet: they count as held.
	Creating []Slots
	// Rates are the start buckets of the tags with a rate, replayed from
	// the starts made (the reconciler's rateBuckets); Plan takes a token, from its own copy,
	// for each start it decides.
	Rates map[string]*project.StartBucket
}

// WaitingRun is a run whose stored state is new or Scheduled, with what
// the caches say of it.
type WaitingRun struct {
	ConfigMap *corev1.ConfigMap
	Parsed    *ParsedRun // nil for a run that has its Job
	// State is the run's stored State, or the State a status write in
	// flight claims for it.
	State v1alpha1.RunState
	// Creating says its Job's create is in flight (a Pending claim).
	Creating bool
	// HasJob says the cache shows the run's own Job.
	HasJob bool
	// JobName is the run's derived Job name when a Job that is not the
	// run's holds it; NameTakenBy is then the live run that controls that
	// Job, or "" if its run is gone and the garbage collector will take it.
	JobName, NameTakenBy string
	// Inflight says a write decided by an earlier pass is under way.
	Inflight bool
	// RefusedUntil is when the back-off of the API server's refusals of
	// the run's writes ends (zero: none).
	RefusedUntil time.Time
	Cancel       bool // a cancel is requested; syncRun carries it out
	// Parent is what the caches show of the run its request names as its
	// Parent (zero when it names none).
	Parent ParentSeen
	// Attempt is the run's Attempt to make (1 unless it is a retry), and
	// retryAt when a retry is due (zero: no retry).
	Attempt int32
	RetryAt time.Time
}

// due is when a run may start: its scheduled time, or its retry's.
func (w *WaitingRun) due(a *Admission) time.Time {
	if w.RetryAt.After(a.Scheduled) {
		return w.RetryAt
	}
	return a.Scheduled
}

// awaitsSlot says a run is new or Scheduled, with no cancel asked.
func (w *WaitingRun) awaitsSlot() bool {
	return (w.State == "" || w.State == v1alpha1.StateScheduled) && !w.Cancel
}

// judged says Plan judges the run this pass, by the verdict AdmitWaiting
// leaves in its ParsedRun: it awaits a slot, has no Job and none being
// created, its Job name is free, and no write of it is under way or
// backed off.
func (w *WaitingRun) judged(now time.Time) bool {
	return !w.Creating && !w.HasJob && w.JobName == "" && w.awaitsSlot() && !w.Inflight && !now.Before(w.RefusedUntil)
}

// AdmitWaiting gives every run Plan will judge its verdict under the
// pass's config (Admit), in its ParsedRun: outside plan, so that Plan only
// reads. A verdict is kept for the config generation it was reached under,
// so a run waiting for a slot is validated once, not every pass; a wait for
// config is looked at again each pass. Runs with no values of their own
// share the pass's resolution of their deployment's defaults.
func AdmitWaiting(in Input) {
	defaults := map[string]*ResolvedValues{}
	for i := range in.Waiting {
		w := &in.Waiting[i]
		if !w.judged(in.Now) {
			continue
		}
		pr := w.Parsed
		if pr.cfgGen == in.ConfigGen && (pr.admission != nil || pr.admitErr != nil) {
			continue
		}
		pr.admission, pr.admitErr, pr.admitWait = Admit(in.Config, defaults, &pr.values, in.Namespace, w.ConfigMap, pr.Request, pr.RequestErr)
		pr.cfgGen = in.ConfigGen
		if pr.admitWait != nil {
			pr.cfgGen = 0 // look again next pass
		}
	}
}

// DecisionKind is what a pass decides for a run.
type DecisionKind int

const (
	DecideAdmit     DecisionKind = iota // create its Job
	DecideReject                        // end it Rejected
	DecideCancelNew                     // end it Cancelled: its deployment is full and says CancelNew
	DecideWait                          // leave it Scheduled, saying why
)

// Decision is what a pass decided for one run.
type Decision struct {
	Run       *WaitingRun
	Kind      DecisionKind
	Admission *Admission // admit, cancel-new, and waits after admission
	Rejection *Rejection // reject
	// Reason and Message say why a run waits; On names what it waits On:
	// the limit with no free slot, what is paused, or the tag whose start
	// rate holds it back ("tag db").
	Reason, Message, On string
	// Until is when a run waiting for its time (or its retry's) or for a
	// tag's start rate may start.
	Until time.Time
}

// Writes reports whether a decision calls for a write. A run that waits
// has its Scheduled status written once, when it is new: a pass finding
// it still waiting, for whatever reason, Writes nothing.
func (d Decision) Writes() bool {
	return d.Kind != DecideWait || d.Run.State == ""
}

// Planned is the outcome of a pass.
type Planned struct {
	Decisions []Decision
	// Counts are the waiting runs by state, Late apart.
	Counts map[v1alpha1.RunState]int
	// Usage is the slots in use after the admissions.
	Usage *Usage
	// Wake is when a run not yet due, or backed off, is next due; zero if
	// none is.
	Wake time.Time
	// WaitsForSlot says a run was left waiting for a free slot.
	WaitsForSlot bool
	// RetryForeign says a run's Job name is held by a Job the garbage
	// collector is about to delete.
	RetryForeign bool
}

// Plan decides a dispatch pass. Waiting runs are admitted in order: queue
// priority, then scheduled time, then creation, then name. A run blocked
// on one limit does not block runs that do not need that limit. Runs
// already being written, backed off, cancelled, not yet due or paused are
// settled before the sort. Plan is pure: it reads each run's verdict,
// which AdmitWaiting made before, and changes nothing it is given.
func Plan(in Input) Planned {
	// Most waiting runs get a decision: one allocation, not a doubling
	// slice's, with ten thousand waiting.
	out := Planned{Decisions: make([]Decision, 0, len(in.Waiting)), Counts: map[v1alpha1.RunState]int{}, Usage: NewUsage(in.Held)}
	for _, s := range in.Creating {
		out.Usage.Add(s)
	}
	queue := out.readyToStart(in, out.awaitingSlot(in.Waiting))
	sortQueue(queue)
	out.handOutSlots(in.Config, ownBuckets(in.Rates), queue)
	return out
}

// awaitingSlot counts the waiting runs by state and returns those that
// await a slot. A run with its Job, or one being created, counts as
// Pending; a run whose Job name is taken is rejected, or waits for the
// garbage collector to free the name.
func (out *Planned) awaitingSlot(waiting []WaitingRun) []*WaitingRun {
	var cands []*WaitingRun
	for i := range waiting {
		w := &waiting[i]
		if w.Creating { // its Job is being created
			out.Counts[v1alpha1.StatePending]++
			continue
		}
		if w.HasJob {
			if w.State == "" || w.State == v1alpha1.StateScheduled {
				out.Counts[v1alpha1.StatePending]++
			} else {
				out.Counts[w.State]++
			}
			continue
		}
		out.Counts[w.State]++
		if w.JobName != "" {
			// Its Job's name is taken. By a Job of a run that is gone:
			// wait for the garbage collector. By a live run's: this run
			// can never have its Job.
			switch {
			case w.NameTakenBy == "":
				out.RetryForeign = true
			case !w.Inflight:
				out.Decisions = append(out.Decisions, Decision{Run: w, Kind: DecideReject, Rejection: &Rejection{ReasonJobNameTaken,
					fmt.Sprintf("the Job name %s derived from this run's name belongs to run %s; create the run under another name", w.JobName, w.NameTakenBy)}})
			}
			continue
		}
		if w.awaitsSlot() {
			cands = append(cands, w)
		}
	}
	return cands
}

// ready is a run that may take its slots now, with its queue's priority.
type ready struct {
	w        *WaitingRun
	priority int32
}

// readyToStart settles the runs that cannot take a slot now: a write of
// them under way or backed off, waiting for config, rejected, not yet
// due, or paused. Their order does not matter, so they are settled before
// the sort, which then orders only the runs that may start.
func (out *Planned) readyToStart(in Input, cands []*WaitingRun) []ready {
	var queue []ready
	// What holds back the runs of a deployment, found once a pass: ten
	// thousand runs waiting in a paused pool share its message.
	type pause struct{ what, msg string }
	pauses := map[pauseKey]pause{}
	for _, w := range cands {
		if !w.judged(in.Now) { // a write of it is under way, or backed off
			if !w.Inflight {
				out.wakeAt(w.RefusedUntil)
			}
			continue
		}
		if d, settled := verdictDecision(in.Now, w); settled {
			out.Decisions = append(out.Decisions, d)
			if !d.Until.IsZero() {
				out.wakeAt(d.Until)
			}
			continue
		}
		a := w.Parsed.admission
		if in.Now.Sub(w.due(a)) > project.LateAfter {
			// Late is shown, never stored: counted here for the metric.
			out.Counts[w.State]--
			out.Counts[v1alpha1.StateLate]++
		}
		pk := pauseKey{a.Pool, a.Deployment}
		p, ok := pauses[pk]
		if !ok {
			p.what = paused(a)
			p.msg = p.what + " is paused"
			pauses[pk] = p
		}
		if p.what != "" {
			out.Decisions = append(out.Decisions, Decision{Run: w, Kind: DecideWait, Admission: a, Reason: "Paused", Message: p.msg, On: p.what})
			continue
		}
		queue = append(queue, ready{w, queuePriority(a)})
	}
	return queue
}

// verdictDecision decides for a judged run what its verdict alone decides: it
// waits for config, is rejected (by its verdict, or by its parent's on a
// first attempt: a retry's parent was accepted with its first attempt),
// or waits for its time. settled is false for a run that is due.
func verdictDecision(now time.Time, w *WaitingRun) (d Decision, settled bool) {
	pr := w.Parsed
	switch {
	case pr.admitWait != nil:
		return Decision{Run: w, Kind: DecideWait, Reason: "WaitingForConfig", Message: pr.admitWait.Message}, true
	case pr.admitErr != nil:
		return Decision{Run: w, Kind: DecideReject, Rejection: pr.admitErr}, true
	}
	if rej := parentVerdict(pr.Request, w.Parent); rej != nil && w.Attempt <= 1 {
		return Decision{Run: w, Kind: DecideReject, Rejection: rej}, true
	}
	a := pr.admission
	if due := w.due(a); due.After(now) {
		return Decision{Run: w, Kind: DecideWait, Admission: a, Reason: "Scheduled", Message: "waiting for its scheduled time", Until: due}, true
	}
	return Decision{}, false
}

// sortQueue orders the runs that may start: queue priority, then
// scheduled time, then creation, then name. Names are unique, so the
// order is total and need not be stable.
func sortQueue(queue []ready) {
	slices.SortFunc(queue, func(x, y ready) int {
		if x.priority != y.priority {
			return cmp.Compare(x.priority, y.priority)
		}
		if tx, ty := x.w.due(x.w.Parsed.admission), y.w.due(y.w.Parsed.admission); !tx.Equal(ty) {
			return tx.Compare(ty)
		}
		if tx, ty := x.w.ConfigMap.CreationTimestamp.Time, y.w.ConfigMap.CreationTimestamp.Time; !tx.Equal(ty) {
			return tx.Compare(ty)
		}
		return strings.Compare(x.w.ConfigMap.Name, y.w.ConfigMap.Name)
	})
}

// handOutSlots admits the runs in their order while their limits have
// free slots: a run blocked on one limit does not block runs that do not
// need that limit. A full deployment that says CancelNew turns new runs
// away; a retry was admitted once, and waits for its slot.
func (out *Planned) handOutSlots(cfg *project.Installed, rates map[string]*project.StartBucket, queue []ready) {
	for _, r := range queue {
		a := r.w.Parsed.admission
		limit, deploymentFull := out.Usage.Blocked(cfg, a.Pool, a.Deployment, a.Slots)
		if deploymentFull && a.Deployment.CollisionStrategy == v1alpha1.CollisionCancelNew && r.w.Attempt <= 1 {
			out.Decisions = append(out.Decisions, Decision{Run: r.w, Kind: DecideCancelNew, Admission: a})
			continue
		}
		if limit != "" {
			out.WaitsForSlot = true
			out.Decisions = append(out.Decisions, Decision{Run: r.w, Kind: DecideWait, Admission: a, Reason: "WaitingForSlot", Message: "waiting for a free slot of " + limit, On: limit})
			continue
		}
		if wait := startRate(rates, r.w, a); wait != nil {
			out.wakeAt(wait.Until)
			out.Decisions = append(out.Decisions, *wait)
			continue
		}
		out.Usage.Add(a.Slots)
		out.Decisions = append(out.Decisions, Decision{Run: r.w, Kind: DecideAdmit, Admission: a})
	}
}

// wakeAt asks for the next pass at t, unless one is asked for sooner.
func (out *Planned) wakeAt(t time.Time) {
	if out.Wake.IsZero() || t.Before(out.Wake) {
		out.Wake = t
	}
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
func startRate(rates map[string]*project.StartBucket, w *WaitingRun, a *Admission) *Decision {
	for _, t := range a.Slots.Tags {
		if b := rates[t]; b != nil && !b.Allows() {
			next := b.Next()
			return &Decision{Run: w, Kind: DecideWait, Admission: a, Reason: "WaitingForRate", On: project.SlotTag + " " + t, Until: next,
				Message: fmt.Sprintf("waiting for the start rate of tag %s (next start at %s)", t, next.UTC().Format(time.RFC3339))}
		}
	}
	for _, t := range a.Slots.Tags {
		if b := rates[t]; b != nil {
			b.Take()
		}
	}
	return nil
}

func queuePriority(a *Admission) int32 {
	if q := a.Pool.Queue(a.Deployment.Queue); q != nil {
		return q.Priority
	}
	return v1alpha1.DefaultQueuePriority
}

// pauseKey is what decides whether a run is held back by a pause: its
// admission's pool and deployment (and the deployment's queue).
type pauseKey struct {
	pool *project.InstalledPool
	d    *project.InstalledDeployment
}

// paused names what holds a run back by being paused (project.PauseOf),
// or "".
func paused(a *Admission) string {
	switch project.PauseOf(a.Pool, a.Deployment.Queue, a.Deployment).Level {
	case project.PausePool:
		return "pool " + a.Pool.Name
	case project.PauseQueue:
		return "queue " + a.Pool.Name + "/" + a.Deployment.Queue
	case project.PauseDeployment:
		return "deployment " + a.Deployment.FullName()
	}
	return ""
}
