package reconciler

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// createOutcomeUnknown says whether a failed create may still have made
// its object: the connection broke or timed out after the request was
// sent, or the API server answered with a server error. A refused
// connection never reached it; any other answer of the API server is
// definite.
func createOutcomeUnknown(err error) bool {
	if utilnet.IsConnectionRefused(err) {
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		code := status.Status().Code
		return code == 0 || code >= http.StatusInternalServerError
	}
	return true
}

// jobLanded asks whether the run's Job exists, controlled by the run (UID
// run): from the cache, else from the API server, asked again with back-off
// while it is away. known is false when it stayed away.
func (c *Controller) jobLanded(ctx context.Context, name string, run types.UID) (landed, known bool) {
	if job, err := c.jobs.Get(name); err == nil && controlledBy(job, run) {
		return true, true
	}
	var found *batchv1.Job
	err := wait.ExponentialBackoffWithContext(ctx, jobLandedBackoff, func(ctx context.Context) (bool, error) {
		job, err := c.client.BatchV1().Jobs(c.opts.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			found = job
			return true, nil
		case apierrors.IsNotFound(err):
			return true, nil
		}
		return false, nil // away or overloaded: ask again
	})
	if err != nil {
		return false, false
	}
	return found != nil && controlledBy(found, run), true
}

// jobLandedBackoff asks for about 20 s: an API server restart takes a few.
var jobLandedBackoff = wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 8, Cap: 5 * time.Second}

// action is one write decided by a dispatch pass.
type action func(ctx context.Context) error

// dispatch is the one pass that hands out slots. It gathers what plan
// decides from (every waiting run from the cache, never a first page; the
// slots held, from the Job cache's indexes; the claims of writes in
// flight), then applies plan's decisions: it claims what they write,
// schedules the next pass and hands the writes to the writer pool.
func (c *Controller) dispatch(ctx context.Context) error {
	now := c.opts.Now()
	start := c.passStarted()
	// Until this pass has counted, a slot freed meanwhile must bring
	// another pass; a pass that ends early leaves it so.
	c.slotWaiters.Store(true)
	cms, err := c.configs.List(labels.Everything())
	if err != nil {
		return err
	}
	in := planInput{now: now, namespace: c.opts.Namespace, cfg: c.cfgCache.build(cms), cfgGen: configGeneration(cms), held: c.held}
	claims := c.exp.snapshot(now) // before the lists: see snapshot
	in.rates = c.rateBuckets(in.cfg, claims, now)

	// A run's Job is its slot: every unfinished Job counts, whatever its
	// run's status says yet, and a finished or deleted one frees it. A run
	// whose Job is being created counts by its claim until its Job is in
	// the cache. Every claim is checked before any Job count is read: a
	// Job landing in between is then counted twice (safe), never missed.
	for run, cl := range claims {
		if cl.state != v1alpha1.StatePending {
			continue
		}
		if cm, err := c.runs.Get(run); err == nil {
			if job := c.jobNamed(cl.job); job == nil || !controlledBy(job, cm.UID) {
				in.creating = append(in.creating, cl.slots)
			}
		}
	}
	in.waiting = c.waitingRuns(in.cfg, claims, now)
	admitWaiting(in)
	p := plan(in)

	var actions []pending
	for _, d := range p.decisions {
		if !d.writes() {
			continue
		}
		cm := d.run.cm
		var do action
		switch d.kind {
		case decideAdmit:
			c.exp.claimJob(cm.Name, v1alpha1.AttemptJobName(cm.Name, d.run.attempt), d.admission.slots, now)
			do = c.admitAction(cm, d.admission, d.run.attempt)
		case decideReject:
			do = c.rejectAction(cm, d.rejection, now)
		case decideCancelNew:
			do = c.cancelNewAction(cm, d.admission, now)
		case decideWait:
			do = c.scheduleAction(cm, d.admission, d.reason, d.message, now)
		}
		actions = c.decide(actions, cm.Name, do)
	}

	if p.retryForeign {
		c.queue.AddAfter(dispatchKey, foreignJobRetry)
	}
	c.slotWaiters.Store(p.waitsForSlot)
	if p.waitsForSlot {
		// A slot can also come free without an event: a claim whose Job
		// the cache never shows ends with claimTTL. Look again by then.
		c.queue.AddAfter(dispatchKey, claimTTL)
	}
	// Runs that are past waiting are only counted, for the metrics.
	counts := p.counts
	for _, v := range c.runIndex.ListIndexFuncValues(runsByStateIndex) {
		if st := v1alpha1.RunState(v); st != "" && st != v1alpha1.StateScheduled {
			counts[st] += indexCount(c.runIndex, runsByStateIndex, v)
		}
	}
	c.metrics.observePass(in.cfg, p.usage, counts)
	c.metrics.observeQueues(in.cfg, p.decisions, now)
	c.notify.configSeen(in.cfg, in.cfgGen)
	if !p.wake.IsZero() {
		c.queue.AddAfter(dispatchKey, p.wake.Sub(c.opts.Now()))
	}
	c.metrics.DispatchPass.Observe(c.passDecided(start).Seconds())
	c.execute(ctx, actions)
	return nil
}

// waitingRuns gathers every run whose stored state is new or Scheduled,
// from the cache, never a first page.
func (c *Controller) waitingRuns(cfg *project.Installed, claims map[string]claim, now time.Time) []waitingRun {
	cms := byIndex[*corev1.ConfigMap](c.runIndex, runsByStateIndex, "")
	cms = append(cms, byIndex[*corev1.ConfigMap](c.runIndex, runsByStateIndex, string(v1alpha1.StateScheduled))...)
	out := make([]waitingRun, len(cms))
	for i, cm := range cms {
		out[i] = c.waitingRun(cfg, cm, claims, now)
	}
	return out
}

// waitingRun gathers what plan needs to know of a waiting run. Runs
// whose Job is being created, most of a burst, cost it only the claim.
func (c *Controller) waitingRun(cfg *project.Installed, cm *corev1.ConfigMap, claims map[string]claim, now time.Time) waitingRun {
	w := waitingRun{cm: cm, state: c.state.stateOf(cm)}
	if cl, ok := claims[cm.Name]; ok {
		if cl.state == v1alpha1.StatePending {
			w.creating = true
			return w
		}
		w.state = cl.state
	}
	w.attempt, w.retryAt = c.attemptOf(cm, w.state)
	job, foreign := c.jobOf(cm, w.attempt)
	if job != nil {
		w.hasJob = true
		return w
	}
	_, w.inflight = c.inflight.Load(cm.Name)
	if foreign != nil {
		w.jobName = foreign.Name
		if owner := runOfJob(foreign); owner != "" && owner != cm.Name {
			if other, err := c.runs.Get(owner); err == nil && controlledBy(foreign, other.UID) {
				w.nameTakenBy = owner
			}
		}
		return w
	}
	w.cancel = c.cancelRequested(cm)
	w.pr = c.parsed.get(cm)
	if w.pr.req != nil && w.pr.req.Parent != nil {
		w.parent = c.parentSeen(cfg, w.pr.req.Parent)
	}
	if until, blocked := c.refusals.blocked(cm.UID, now); blocked {
		w.refusedUntil = until
	}
	return w
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
			c.write(ctx, p)
		}
	}
}

// write carries out one write decided by a pass.
func (c *Controller) write(ctx context.Context, p pending) {
	if err := p.do(ctx); err != nil {
		c.metrics.ReconcileErrors.Inc()
		if !apierrors.IsConflict(err) {
			c.log.Error("dispatch write failed", "run", p.run, "err", err)
		}
		c.queue.AddRateLimited(dispatchKey)
	}
	c.inflight.Delete(p.run)
	// A pass skipped the run while its write was under way; unless the
	// write gave it a Job (its claim or the Job now counts it, and
	// nothing else changed), it may be dispatchable now.
	if cl, ok := c.exp.pending(p.run, c.opts.Now()); !(ok && cl.state == v1alpha1.StatePending) && !c.hasCurrentJob(p.run) {
		c.requestPass()
	}
}

// hasCurrentJob reports whether the cache shows the Job of a run's
// current attempt.
func (c *Controller) hasCurrentJob(run string) bool {
	cm, err := c.runs.Get(run)
	if err != nil {
		return false
	}
	attempt, _ := c.attemptOf(cm, c.state.stateOf(cm))
	job, _ := c.jobOf(cm, attempt)
	return job != nil
}

// decide marks a run in flight and queues its write.
func (c *Controller) decide(list []pending, run string, do action) []pending {
	c.inflight.Store(run, struct{}{})
	return append(list, pending{run: run, do: do})
}

// admitAction creates the run's Job, and the Job is the run's slot: it
// carries the run's pool, queue, deployment and tags, so slots in use are
// derived from Jobs, durably, from the moment the create lands. The Job's
// name derives from the run, so a retry or a second leader finds
// AlreadyExists instead of making a second Job; the run's status follows
// (syncRun), off the dispatch path.
func (c *Controller) admitAction(cm *corev1.ConfigMap, a *admission, attempt int32) action {
	return func(ctx context.Context) error {
		job, err := resolveJob(c.opts.Namespace, cm, a.run, attempt)
		if err == nil {
			err = annotateAdmission(job, a, c.opts.Now())
		}
		if err != nil {
			c.exp.drop(cm.Name)
			return err
		}
		start := time.Now()
		_, err = c.client.BatchV1().Jobs(c.opts.Namespace).Create(ctx, job, metav1.CreateOptions{})
		c.wrote("job", start)
		if err != nil && !refused(err) && !apierrors.IsAlreadyExists(err) && createOutcomeUnknown(err) {
			// The answer was lost (the API server went away mid-request,
			// or timed out while it may still be writing): the Job may
			// exist. Its claim holds the slot until that is known, as a
			// slot counted twice for a while is safe and one never
			// counted is not.
			switch landed, known := c.jobLanded(ctx, job.Name, cm.UID); {
			case landed:
				err = nil
			case !known:
				return fmt.Errorf("creating Job %s for run %s: %w (whether it was made is not known yet; its slot stays held until the Job shows or %v pass)", job.Name, cm.Name, err, claimTTL)
			}
		}
		switch {
		case refused(err):
			// The API server will never take this Job (a value the
			// schema let through that it refuses): the run ends
			// Rejected, once, rather than being retried for ever.
			c.exp.drop(cm.Name)
			now := c.opts.Now()
			return c.rejectAction(cm, &rejection{ReasonInvalidJobVariables,
				"the API server refused the run's Job: " + v1alpha1.Truncate(err.Error(), 1024)}, now)(ctx)
		case err == nil:
			c.metrics.JobsCreated.Inc()
			c.started(job)
		case apierrors.IsAlreadyExists(err):
			// Ours from an earlier try whose answer was lost (the claim
			// stays until the cache shows it), or a Job of that name
			// that is not this run's: then the claim goes, and the next
			// pass sees the name taken.
			if landed, known := c.jobLanded(ctx, job.Name, cm.UID); known && !landed {
				c.exp.drop(cm.Name)
			}
			return nil
		default:
			c.exp.drop(cm.Name)
			if apierrors.IsNotFound(err) {
				return nil // the namespace is going away
			}
			return fmt.Errorf("creating Job %s for run %s: %w", job.Name, cm.Name, err)
		}
		// No Event: the run's status names its pool, queue and Job, and
		// the Job controller records its own SuccessfulCreate. A burst
		// of a thousand runs would cost the API server a thousand
		// writes for it.
		if seen, ok := c.takeFirstSeen(cm.Name); ok {
			c.metrics.DispatchLatency.Observe(c.opts.Now().Sub(seen).Seconds())
		}
		return nil
	}
}

// statusAction is a status write a pass decides for a waiting run: it
// claims the state at once, so the next pass sees it before the cache
// does, and on success records the Event, if any.
func (c *Controller) statusAction(cm *corev1.ConfigMap, st *v1alpha1.RunStatus, now time.Time, eventType, reason string) action {
	c.exp.claim(cm.Name, st.State, slots{}, now)
	c.notify.carryOver(cm, st)
	return func(ctx context.Context) error {
		updated, err := c.writeStatus(ctx, cm, st)
		if err != nil {
			c.exp.drop(cm.Name)
			return ignoreNotFound(err)
		}
		if reason != "" {
			c.recorder.Event(updated, eventType, reason, st.Message)
		}
		return nil
	}
}

// admittedStatus starts the status of a valid run.
func admittedStatus(a *admission) *v1alpha1.RunStatus {
	return &v1alpha1.RunStatus{
		ScheduledTime: &metav1.Time{Time: a.scheduled},
		Pool:          a.pool.Name, Queue: a.deployment.Queue, Tags: a.slots.Tags,
	}
}

func (c *Controller) scheduleAction(cm *corev1.ConfigMap, a *admission, reason, msg string, now time.Time) action {
	st := &v1alpha1.RunStatus{}
	if a != nil {
		st = admittedStatus(a)
	}
	setState(st, v1alpha1.StateScheduled, reason, msg, now)
	return c.statusAction(cm, st, now, "", "")
}

func (c *Controller) rejectAction(cm *corev1.ConfigMap, rej *rejection, now time.Time) action {
	st := &v1alpha1.RunStatus{EndTime: &metav1.Time{Time: now}}
	setState(st, v1alpha1.StateRejected, rej.reason, rej.message, now)
	return c.statusAction(cm, st, now, corev1.EventTypeWarning, "Rejected")
}

func (c *Controller) cancelNewAction(cm *corev1.ConfigMap, a *admission, now time.Time) action {
	st := admittedStatus(a)
	st.EndTime = &metav1.Time{Time: now}
	setState(st, v1alpha1.StateCancelled, "DeploymentConcurrencyLimit",
		fmt.Sprintf("deployment %s at its concurrency limit (collisionStrategy CancelNew)", a.deployment.FullName()), now)
	return c.statusAction(cm, st, now, corev1.EventTypeNormal, "Cancelled")
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
