package reconciler

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// candidate is a run waiting for its slots.
type candidate struct {
	cm       *corev1.ConfigMap
	pr       *parsedRun
	state    project.RunState
	priority int32
}

// action is one write decided by a dispatch pass.
type action func(ctx context.Context) error

// dispatch is the one pass that hands out slots. It reads every run from
// the cache (every pending run is considered, never a first page), derives
// slots in use from the runs' durable states and their Jobs, and admits
// waiting runs in order: queue priority, then scheduled time, then
// creation. A run blocked on one limit does not block runs that do not need
// that limit.
func (c *Controller) dispatch(ctx context.Context) error {
	now := c.opts.Now()
	start := c.passStarted()
	// Until this pass has counted, a slot freed meanwhile must bring
	// another pass; a pass that ends early leaves it so.
	c.slotWaiters.Store(true)
	waitsForSlot := false
	cms, err := c.configs.List(labels.Everything())
	if err != nil {
		return err
	}
	cfg := c.cfgCache.build(cms)
	gen := configGeneration(cms)
	claims := c.exp.snapshot(now) // before the lists: see snapshot

	// A run's Job is its slot: every unfinished Job counts, whatever its
	// run's status says yet, and a finished or deleted one frees it. A run
	// whose Job is being created counts by its claim until its Job is in
	// the cache. Every claim is checked before any Job count is read: a
	// Job landing in between is then counted twice (safe), never missed.
	var claimed []slots
	for run, cl := range claims {
		if cl.state != project.StatePending {
			continue
		}
		if cm, err := c.runs.Get(run); err == nil {
			if job, _ := c.jobOf(cm); job == nil {
				claimed = append(claimed, cl.slots)
			}
		}
	}
	u := newUsage(c.held)
	for _, s := range claimed {
		u.add(s)
	}
	// Runs that are past waiting are only counted, for the metrics.
	counts := map[project.RunState]int{}
	for _, v := range c.runIndex.ListIndexFuncValues(runsByStateIndex) {
		if st := project.RunState(v); st != "" && st != project.StateScheduled {
			counts[st] = indexCount(c.runIndex, runsByStateIndex, v)
		}
	}
	waiting := byIndex[*corev1.ConfigMap](c.runIndex, runsByStateIndex, "")
	waiting = append(waiting, byIndex[*corev1.ConfigMap](c.runIndex, runsByStateIndex, string(project.StateScheduled))...)
	var cands []candidate
	var actions []pending
	retryForeign := false
	for _, cm := range waiting {
		// Cheap checks first: in a burst most runs in this list already
		// have their Job and wait only for their first status write.
		state := c.state.stateOf(cm)
		if cl, ok := claims[cm.Name]; ok {
			if cl.state == project.StatePending { // its Job is being created
				counts[project.StatePending]++
				continue
			}
			state = cl.state
		}
		job, foreign := c.jobOf(cm)
		if job != nil {
			if state == "" || state == project.StateScheduled {
				state = project.StatePending
			}
			counts[state]++
			continue
		}
		if foreign != nil {
			// Its Job's name is taken. By a Job of a run that is gone,
			// which the garbage collector is about to delete: wait for
			// it. By a live run's: this run can never have its Job.
			counts[state]++
			if owner := runOfJob(foreign); owner != "" && owner != cm.Name {
				if other, err := c.runs.Get(owner); err == nil && controlledBy(foreign, other.UID) {
					if _, busy := c.inflight.Load(cm.Name); !busy {
						actions = c.decide(actions, cm.Name, c.rejectAction(candidate{cm: cm}, &rejection{ReasonJobNameTaken,
							fmt.Sprintf("the Job name %s derived from this run's name belongs to run %s; create the run under another name", foreign.Name, owner)}, now))
					}
					continue
				}
			}
			retryForeign = true
			continue
		}
		counts[state]++
		if state == "" || state == project.StateScheduled {
			if c.cancelRequested(cm) {
				continue // syncRun cancels it
			}
			cands = append(cands, candidate{cm: cm, pr: c.parsed.get(cm), state: state})
		}
	}

	var ready []candidate
	var wake time.Time
	for _, cd := range cands {
		if _, busy := c.inflight.Load(cd.cm.Name); busy {
			continue // a write decided by an earlier pass is under way
		}
		if until, blocked := c.refusals.blocked(cd.cm.UID, now); blocked {
			if wake.IsZero() || until.Before(wake) {
				wake = until
			}
			continue
		}
		pr := cd.pr
		if pr.cfgGen != gen || (pr.admission == nil && pr.admitErr == nil) {
			a, rej, wait := admit(cfg, c.opts.Namespace, cd.cm, pr.req, pr.reqErr)
			pr.admission, pr.admitErr, pr.cfgGen = a, rej, gen
			if wait != nil {
				pr.cfgGen = 0 // look again next pass
				if cd.state == "" {
					actions = c.decide(actions, cd.cm.Name, c.scheduleAction(cd, nil, "WaitingForConfig", wait.message, now))
				}
				continue
			}
		}
		if pr.admitErr != nil {
			actions = c.decide(actions, cd.cm.Name, c.rejectAction(cd, pr.admitErr, now))
			continue
		}
		if rej := c.parentProblem(cfg, pr.req); rej != nil {
			actions = c.decide(actions, cd.cm.Name, c.rejectAction(cd, rej, now))
			continue
		}
		// Runs that cannot take a slot now, not yet due or paused, are
		// settled before the sort: their order does not matter, and ten
		// thousand runs in a paused pool made the sort most of a pass.
		a := pr.admission
		if a.scheduled.After(now) {
			if wake.IsZero() || a.scheduled.Before(wake) {
				wake = a.scheduled
			}
			if cd.state == "" {
				actions = c.decide(actions, cd.cm.Name, c.scheduleAction(cd, a, "", "", now))
			}
			continue
		}
		if now.Sub(a.scheduled) > project.LateAfter {
			// Late is shown, never stored: counted here for the metric.
			counts[cd.state]--
			counts[project.StateLate]++
		}
		if what := paused(a); what != "" {
			if cd.state == "" {
				actions = c.decide(actions, cd.cm.Name, c.scheduleAction(cd, a, "Paused", what+" is paused", now))
			}
			continue
		}
		cd.priority = queuePriority(a)
		ready = append(ready, cd)
	}
	// Names are unique, so the order is total and need not be stable.
	slices.SortFunc(ready, func(x, y candidate) int {
		if x.priority != y.priority {
			return cmp.Compare(x.priority, y.priority)
		}
		if tx, ty := x.pr.admission.scheduled, y.pr.admission.scheduled; !tx.Equal(ty) {
			return tx.Compare(ty)
		}
		if tx, ty := x.cm.CreationTimestamp.Time, y.cm.CreationTimestamp.Time; !tx.Equal(ty) {
			return tx.Compare(ty)
		}
		return strings.Compare(x.cm.Name, y.cm.Name)
	})

	for _, cd := range ready {
		a := cd.pr.admission
		limit, deploymentFull := u.blocked(cfg, a.pool, a.deployment, a.slots)
		if deploymentFull && a.deployment.CollisionStrategy == project.CollisionCancelNew {
			actions = c.decide(actions, cd.cm.Name, c.cancelNewAction(cd, a, now))
			continue
		}
		if limit != "" {
			waitsForSlot = true
			if cd.state == "" {
				actions = c.decide(actions, cd.cm.Name, c.scheduleAction(cd, a, "WaitingForSlot", "waiting for a free slot of "+limit, now))
			}
			continue
		}
		u.add(a.slots)
		c.exp.claim(cd.cm.Name, project.StatePending, a.slots, now)
		actions = c.decide(actions, cd.cm.Name, c.admitAction(cd, a))
	}

	if retryForeign {
		c.queue.AddAfter(dispatchKey, foreignJobRetry)
	}
	c.slotWaiters.Store(waitsForSlot)
	if waitsForSlot {
		// A slot can also come free without an event: a claim whose Job
		// the cache never shows ends with claimTTL. Look again by then.
		c.queue.AddAfter(dispatchKey, claimTTL)
	}
	c.metrics.observePass(cfg, u, counts)
	if !wake.IsZero() {
		c.queue.AddAfter(dispatchKey, wake.Sub(c.opts.Now()))
	}
	c.metrics.DispatchPass.Observe(c.passDecided(start).Seconds())
	c.execute(ctx, actions)
	return nil
}

// execute hands a pass's writes to the writer pool and returns at once:
// the next pass need not wait for them, since every decided run carries a
// claim (counted as its state) and is marked in flight (skipped) until its
// write is done. A failed write retries the pass on fresh state.
func (c *Controller) execute(ctx context.Context, actions []pending) {
	for _, p := range actions {
		select {
		case c.writes <- p:
		case <-ctx.Done():
			return
		}
	}
}

// foreignJobRetry is how soon a pass looks again at a run whose Job name
// is held by a Job the garbage collector is about to delete.
const foreignJobRetry = 5 * time.Second

// pending is a write decided by a pass, for one run.
type pending struct {
	run string
	do  action
}

// writer carries out passes' writes, WriteConcurrency at a time.
func (c *Controller) writer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-c.writes:
			if err := p.do(ctx); err != nil {
				c.metrics.ReconcileErrors.Inc()
				if !apierrors.IsConflict(err) {
					c.log.Error("dispatch write failed", "run", p.run, "err", err)
				}
				c.queue.AddRateLimited(dispatchKey)
			}
			c.inflight.Delete(p.run)
			// A pass skipped the run while its write was under way; unless
			// the write gave it a Job (its claim or the Job now counts
			// it, and nothing else changed), it may be dispatchable now.
			if cl, ok := c.exp.pending(p.run, c.opts.Now()); !(ok && cl.state == project.StatePending) && c.jobNamed(p.run) == nil {
				c.requestPass()
			}
		}
	}
}

// decide marks a run in flight and queues its write.
func (c *Controller) decide(list []pending, run string, do action) []pending {
	c.inflight.Store(run, struct{}{})
	return append(list, pending{run: run, do: do})
}

func queuePriority(a *admission) int32 {
	if q := a.pool.Queue(a.deployment.Queue); q != nil {
		return q.Priority
	}
	return project.DefaultQueuePriority
}

// paused names what holds a run back by being paused, or "".
func paused(a *admission) string {
	switch {
	case a.pool.Paused:
		return "pool " + a.pool.Name
	case a.pool.queuePaused(a.deployment.Queue):
		return "queue " + a.pool.Name + "/" + a.deployment.Queue
	case a.deployment.Paused:
		return "deployment " + a.deployment.FullName()
	}
	return ""
}

// admitAction creates the run's Job, and the Job is the run's slot: it
// carries the run's pool, queue, deployment and tags, so slots in use are
// derived from Jobs, durably, from the moment the create lands. The Job's
// name derives from the run, so a retry or a second leader finds
// AlreadyExists instead of making a second Job; the run's status follows
// (syncRun), off the dispatch path.
func (c *Controller) admitAction(cd candidate, a *admission) action {
	return func(ctx context.Context) error {
		job, err := resolveJob(c.opts.Namespace, cd.cm, &a.deployment.Deployment, a.pool, a.params, a.jobVars)
		if err == nil {
			err = annotateAdmission(job, a, c.opts.Now())
		}
		if err != nil {
			c.exp.drop(cd.cm.Name)
			return err
		}
		start := time.Now()
		_, err = c.client.BatchV1().Jobs(c.opts.Namespace).Create(ctx, job, metav1.CreateOptions{})
		c.wrote("job", start)
		switch {
		case refused(err):
			// The API server will never take this Job (a value the
			// schema let through that it refuses): the run ends
			// Rejected, once, rather than being retried for ever.
			c.exp.drop(cd.cm.Name)
			now := c.opts.Now()
			return c.rejectAction(cd, &rejection{ReasonInvalidJobVariables,
				"the API server refused the run's Job: " + project.Truncate(err.Error(), 1024)}, now)(ctx)
		case err == nil:
			c.metrics.JobsCreated.Inc()
		case apierrors.IsAlreadyExists(err):
			// Ours from an earlier try, or a Job of that name that is
			// not this run's: then the claim goes, and the next pass
			// sees the name taken.
			if cached, cerr := c.jobs.Get(job.Name); cerr == nil || !controlledBy(cached, cd.cm.UID) {
				c.exp.drop(cd.cm.Name)
			}
			return nil
		default:
			c.exp.drop(cd.cm.Name)
			if apierrors.IsNotFound(err) {
				return nil // the namespace is going away
			}
			return fmt.Errorf("creating Job %s for run %s: %w", job.Name, cd.cm.Name, err)
		}
		// No Event: the run's status names its pool, queue and Job, and
		// the Job controller records its own SuccessfulCreate. A burst
		// of a thousand runs would cost the API server a thousand
		// writes for it.
		if seen, ok := c.takeFirstSeen(cd.cm.Name); ok {
			c.metrics.DispatchLatency.Observe(c.opts.Now().Sub(seen).Seconds())
		}
		return nil
	}
}

// statusAction is a status write a pass decides for a waiting run: it
// claims the state at once, so the next pass sees it before the cache
// does, and on success records the Event, if any.
func (c *Controller) statusAction(cd candidate, st *project.RunStatus, now time.Time, eventType, reason string) action {
	c.exp.claim(cd.cm.Name, st.State, slots{}, now)
	return func(ctx context.Context) error {
		updated, err := c.writeStatus(ctx, cd.cm, st)
		if err != nil {
			c.exp.drop(cd.cm.Name)
			return ignoreNotFound(err)
		}
		if reason != "" {
			c.recorder.Event(updated, eventType, reason, st.Message)
		}
		return nil
	}
}

// admittedStatus starts the status of a valid run.
func admittedStatus(a *admission) *project.RunStatus {
	return &project.RunStatus{
		ScheduledTime: &metav1.Time{Time: a.scheduled},
		Pool:          a.pool.Name, Queue: a.deployment.Queue, Tags: a.slots.Tags,
	}
}

func (c *Controller) scheduleAction(cd candidate, a *admission, reason, msg string, now time.Time) action {
	st := &project.RunStatus{}
	if a != nil {
		st = admittedStatus(a)
	}
	if reason == "" {
		reason, msg = "Scheduled", "waiting for its scheduled time"
	}
	setState(st, project.StateScheduled, reason, msg, now)
	return c.statusAction(cd, st, now, "", "")
}

func (c *Controller) rejectAction(cd candidate, rej *rejection, now time.Time) action {
	st := &project.RunStatus{EndTime: &metav1.Time{Time: now}}
	setState(st, project.StateRejected, rej.reason, rej.message, now)
	return c.statusAction(cd, st, now, corev1.EventTypeWarning, "Rejected")
}

func (c *Controller) cancelNewAction(cd candidate, a *admission, now time.Time) action {
	st := admittedStatus(a)
	st.EndTime = &metav1.Time{Time: now}
	setState(st, project.StateCancelled, "DeploymentConcurrencyLimit",
		fmt.Sprintf("deployment %s at its concurrency limit (collisionStrategy CancelNew)", a.deployment.FullName()), now)
	return c.statusAction(cd, st, now, corev1.EventTypeNormal, "Cancelled")
}

// configGeneration fingerprints the config ConfigMaps, so cached
// admissions are redone when any of them changes.
func configGeneration(cms []*corev1.ConfigMap) uint64 {
	keys := make([]string, len(cms))
	for i, cm := range cms {
		keys[i] = string(cm.UID) + "@" + cm.ResourceVersion
	}
	sort.Strings(keys)
	h := fnv.New64a()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
	}
	return h.Sum64() | 1 // never 0, which means "not computed"
}
