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
	"github.com/kubectl-flows/kubectl-flows/planner"
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
	if job, err := c.jobs.Get(name); err == nil && v1alpha1.ControlledBy(job, run) {
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
	return found != nil && v1alpha1.ControlledBy(found, run), true
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
	in := planner.Input{Now: now, Namespace: c.opts.Namespace, Config: c.cfgCache.build(cms), ConfigGen: configGeneration(cms), Held: c.held}
	claims := c.exp.snapshot(now) // before the lists: see snapshot
	in.Rates = c.rateBuckets(in.Config, claims, now)

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
			if job := c.jobNamed(cl.job); job == nil || !v1alpha1.ControlledBy(job, cm.UID) {
				in.Creating = append(in.Creating, cl.slots)
			}
		}
	}
	in.Waiting = c.waitingRuns(in.Config, claims, now)
	planner.AdmitWaiting(in)
	p := planner.Plan(in)

	var actions []pending
	for _, d := range p.Decisions {
		if !d.Writes() {
			continue
		}
		cm := d.Run.ConfigMap
		var do action
		switch d.Kind {
		case planner.DecideAdmit:
			c.exp.claimJob(cm.Name, v1alpha1.AttemptJobName(cm.Name, d.Run.Attempt), d.Admission.Slots, now)
			do = c.admitAction(cm, d.Admission, d.Run.Attempt)
		case planner.DecideReject:
			do = c.rejectAction(cm, d.Rejection, now)
		case planner.DecideCancelNew:
			do = c.cancelNewAction(cm, d.Admission, now)
		case planner.DecideWait:
			do = c.scheduleAction(cm, d.Admission, d.Reason, d.Message, now)
		}
		actions = c.decide(actions, cm.Name, do)
	}

	if p.RetryForeign {
		c.queue.AddAfter(dispatchKey, foreignJobRetry)
	}
	c.slotWaiters.Store(p.WaitsForSlot)
	if p.WaitsForSlot {
		// A slot can also come free without an event: a claim whose Job
		// the cache never shows ends with claimTTL. Look again by then.
		c.queue.AddAfter(dispatchKey, claimTTL)
	}
	// Runs that are past waiting are only counted, for the metrics.
	counts := p.Counts
	for _, v := range c.runIndex.ListIndexFuncValues(runsByStateIndex) {
		if st := v1alpha1.RunState(v); st != "" && st != v1alpha1.StateScheduled {
			counts[st] += indexCount(c.runIndex, runsByStateIndex, v)
		}
	}
	c.metrics.observePass(in.Config, p.Usage, counts)
	c.metrics.observeQueues(in.Config, p.Decisions, now)
	c.notify.configSeen(in.Config, in.ConfigGen)
	if !p.Wake.IsZero() {
		c.queue.AddAfter(dispatchKey, p.Wake.Sub(c.opts.Now()))
	}
	c.metrics.DispatchPass.Observe(c.passDecided(start).Seconds())
	c.execute(ctx, actions)
	return nil
}

// waitingRuns gathers every run whose stored state is new or Scheduled,
// from the cache, never a first page.
func (c *Controller) waitingRuns(cfg *project.Installed, claims map[string]claim, now time.Time) []planner.WaitingRun {
	cms := byIndex[*corev1.ConfigMap](c.runIndex, runsByStateIndex, "")
	cms = append(cms, byIndex[*corev1.ConfigMap](c.runIndex, runsByStateIndex, string(v1alpha1.StateScheduled))...)
	out := make([]planner.WaitingRun, len(cms))
	for i, cm := range cms {
		out[i] = c.waitingRun(cfg, cm, claims, now)
	}
	return out
}

// waitingRun gathers what plan needs to know of a waiting run. Runs
// whose Job is being created, most of a burst, cost it only the claim.
func (c *Controller) waitingRun(cfg *project.Installed, cm *corev1.ConfigMap, claims map[string]claim, now time.Time) planner.WaitingRun {
	w := planner.WaitingRun{ConfigMap: cm, State: c.state.stateOf(cm)}
	if cl, ok := claims[cm.Name]; ok {
		if cl.state == v1alpha1.StatePending {
			w.Creating = true
			return w
		}
		w.State = cl.state
	}
	w.Attempt, w.RetryAt = c.attemptOf(cm, w.State)
	job, foreign := c.jobOf(cm, w.Attempt)
	if job != nil {
		w.HasJob = true
		return w
	}
	_, w.Inflight = c.inflight.Load(cm.Name)
	if foreign != nil {
		w.JobName = foreign.Name
		if owner := runOfJob(foreign); owner != "" && owner != cm.Name {
			if other, err := c.runs.Get(owner); err == nil && v1alpha1.ControlledBy(foreign, other.UID) {
				w.NameTakenBy = owner
			}
		}
		return w
	}
	w.Cancel = c.cancelRequested(cm)
	w.Parsed = c.parsed.Get(cm)
	if w.Parsed.Request != nil && w.Parsed.Request.Parent != nil {
		w.Parent = c.parentSeen(cfg, w.Parsed.Request.Parent)
	}
	if until, blocked := c.refusals.blocked(cm.UID, now); blocked {
		w.RefusedUntil = until
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
func (c *Controller) admitAction(cm *corev1.ConfigMap, a *planner.Admission, attempt int32) action {
	return func(ctx context.Context) error {
		run, err := a.CheckedRun(c.opts.Namespace, cm)
		var job *batchv1.Job
		if err == nil {
			job, err = planner.ResolveJob(c.opts.Namespace, cm, run, attempt)
		}
		if err == nil {
			err = annotateAdmission(job, a, run, c.opts.Now())
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
			return c.rejectAction(cm, &planner.Rejection{Reason: planner.ReasonInvalidJobVariables,
				Message: "the API server refused the run's Job: " + v1alpha1.Truncate(err.Error(), 1024)}, now)(ctx)
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
	c.exp.claim(cm.Name, st.State, planner.Slots{}, now)
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
func admittedStatus(a *planner.Admission) *v1alpha1.RunStatus {
	return &v1alpha1.RunStatus{
		ScheduledTime: &metav1.Time{Time: a.Scheduled},
		Pool:          a.Pool.Name, Queue: a.Deployment.Queue, Tags: a.Slots.Tags,
	}
}

func (c *Controller) scheduleAction(cm *corev1.ConfigMap, a *planner.Admission, reason, msg string, now time.Time) action {
	st := &v1alpha1.RunStatus{}
	if a != nil {
		st = admittedStatus(a)
	}
	setState(st, v1alpha1.StateScheduled, reason, msg, now)
	return c.statusAction(cm, st, now, "", "")
}

func (c *Controller) rejectAction(cm *corev1.ConfigMap, rej *planner.Rejection, now time.Time) action {
	st := &v1alpha1.RunStatus{EndTime: &metav1.Time{Time: now}}
	setState(st, v1alpha1.StateRejected, rej.Reason, rej.Message, now)
	return c.statusAction(cm, st, now, corev1.EventTypeWarning, "Rejected")
}

func (c *Controller) cancelNewAction(cm *corev1.ConfigMap, a *planner.Admission, now time.Time) action {
	st := admittedStatus(a)
	st.EndTime = &metav1.Time{Time: now}
	setState(st, v1alpha1.StateCancelled, "DeploymentConcurrencyLimit",
		fmt.Sprintf("deployment %s at its concurrency limit (collisionStrategy CancelNew)", a.Deployment.FullName()), now)
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
