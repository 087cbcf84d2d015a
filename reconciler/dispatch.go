package reconciler

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
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
	start := c.opts.Now()
	now := start
	cms, err := c.configs.List(labels.Everything())
	if err != nil {
		return err
	}
	cfg := c.cfgCache.build(cms)
	gen := configGeneration(cms)
	runs, err := c.runs.List(labels.Everything())
	if err != nil {
		return err
	}

	u := newUsage()
	counts := map[project.RunState]int{}
	var cands []candidate
	for _, cm := range runs {
		pr := c.parsed.get(cm)
		state := pr.status.State
		if cl, ok := c.exp.pending(cm.Name, now); ok {
			state = cl.state
			if cl.state.HoldsSlot() {
				u.add(cl.slots)
				counts[state]++
				continue
			}
		}
		counts[state]++
		switch {
		case state.HoldsSlot():
			if job, err := c.jobs.Get(pr.status.JobName); err == nil && jobFinished(job) != "" {
				continue // finished: its slot is free even before the state is written
			}
			if pr.req != nil {
				u.add(slotsOf(pr.status.Pool, pr.status.Queue, pr.req.Deployment, pr.status.Tags))
			}
		case state == "" || state == project.StateScheduled:
			if _, cancel := cm.Annotations[project.AnnotationCancel]; cancel {
				continue // syncRun cancels it
			}
			cands = append(cands, candidate{cm: cm, pr: pr, state: state})
		}
	}

	var actions []action
	var admitted []candidate
	for _, cd := range cands {
		pr := cd.pr
		if pr.cfgGen != gen || (pr.admission == nil && pr.admitErr == nil) {
			a, rej, wait := admit(cfg, c.opts.Namespace, cd.cm, pr.req, pr.reqErr)
			pr.admission, pr.admitErr, pr.cfgGen = a, rej, gen
			if wait != nil {
				pr.cfgGen = 0 // look again next pass
				if cd.state == "" {
					actions = append(actions, c.scheduleAction(cd, nil, "WaitingForConfig", wait.message, now))
				}
				continue
			}
		}
		if pr.admitErr != nil {
			actions = append(actions, c.rejectAction(cd, pr.admitErr, now))
			continue
		}
		cd.priority = queuePriority(pr.admission)
		admitted = append(admitted, cd)
	}
	sort.SliceStable(admitted, func(i, j int) bool {
		a, b := admitted[i], admitted[j]
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		if ta, tb := a.pr.admission.scheduled, b.pr.admission.scheduled; !ta.Equal(tb) {
			return ta.Before(tb)
		}
		if ta, tb := a.cm.CreationTimestamp, b.cm.CreationTimestamp; !ta.Equal(&tb) {
			return ta.Before(&tb)
		}
		return a.cm.Name < b.cm.Name
	})

	var wake time.Time
	for _, cd := range admitted {
		a := cd.pr.admission
		if a.scheduled.After(now) {
			if wake.IsZero() || a.scheduled.Before(wake) {
				wake = a.scheduled
			}
			if cd.state == "" {
				actions = append(actions, c.scheduleAction(cd, a, "", "", now))
			}
			continue
		}
		if what := paused(a); what != "" {
			if cd.state == "" {
				actions = append(actions, c.scheduleAction(cd, a, "Paused", what+" is paused", now))
			}
			continue
		}
		limit, deploymentFull := u.blocked(cfg, a.pool, a.deployment, a.slots)
		if deploymentFull && a.deployment.CollisionStrategy == project.CollisionCancelNew {
			actions = append(actions, c.cancelNewAction(cd, a, now))
			continue
		}
		if limit != "" {
			if cd.state == "" {
				actions = append(actions, c.scheduleAction(cd, a, "WaitingForSlot", "waiting for a free slot of "+limit, now))
			}
			continue
		}
		u.add(a.slots)
		c.exp.claim(cd.cm.Name, project.StatePending, a.slots, now)
		actions = append(actions, c.admitAction(cd, a, now))
	}

	c.metrics.observePass(cfg, u, counts)
	err = c.execute(ctx, actions)
	if !wake.IsZero() {
		c.queue.AddAfter(dispatchKey, wake.Sub(c.opts.Now()))
	}
	c.metrics.DispatchPass.Observe(c.opts.Now().Sub(start).Seconds())
	return err
}

// execute runs a pass's writes, WriteConcurrency at a time. A conflict
// means the run changed under us; the pass is retried on fresh state.
func (c *Controller) execute(ctx context.Context, actions []action) error {
	if len(actions) == 0 {
		return nil
	}
	sem := make(chan struct{}, c.opts.WriteConcurrency)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, a := range actions {
		wg.Add(1)
		sem <- struct{}{}
		go func(a action) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := a(ctx); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(a)
	}
	wg.Wait()
	return first
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

// admitAction takes the run's slots durably, then creates its Job. The
// state write carries the cached resourceVersion, so two writers can never
// both admit the same run; the Job has a name derived from the run, so a
// retry after a crash finds it instead of making a second.
func (c *Controller) admitAction(cd candidate, a *admission, now time.Time) action {
	return func(ctx context.Context) error {
		st := &project.RunStatus{
			ScheduledTime: &metav1.Time{Time: a.scheduled},
			PendingTime:   &metav1.Time{Time: now},
		}
		setState(st, project.StatePending, "Dispatched", "slots taken; creating Job "+a.job.Name, now)
		st.JobName = a.job.Name
		st.Pool, st.Queue, st.Tags = a.pool.Name, a.deployment.Queue, a.slots.Tags
		st.Parameters, st.JobVariables = a.params, a.jobVars
		// Expect the Job before the state write: the write's own event may
		// reach syncRun before the create below returns, and must not make
		// it create the Job a second time.
		c.exp.jobCreated(cd.cm.Name, now)
		updated, err := c.writeStatus(ctx, cd.cm, st, a.deployment)
		if err != nil {
			c.exp.forget(cd.cm.Name)
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		c.recorder.Eventf(updated, corev1.EventTypeNormal, "Dispatched", "Dispatched to pool %s queue %s as Job %s", a.pool.Name, a.deployment.Queue, a.job.Name)
		if err := c.createJob(ctx, updated, a.job); err != nil {
			return err
		}
		if seen, ok := c.takeFirstSeen(cd.cm.Name); ok {
			c.metrics.DispatchLatency.Observe(c.opts.Now().Sub(seen).Seconds())
		}
		return nil
	}
}

// createJob creates a run's Job; AlreadyExists is success, since the name
// is the run's own.
func (c *Controller) createJob(ctx context.Context, cm *corev1.ConfigMap, job *batchv1.Job) error {
	j := job.DeepCopy()
	_, err := c.client.BatchV1().Jobs(c.opts.Namespace).Create(ctx, j, metav1.CreateOptions{})
	switch {
	case err == nil:
		c.metrics.JobsCreated.Inc()
	case !apierrors.IsAlreadyExists(err):
		return fmt.Errorf("creating Job %s for run %s: %w", j.Name, cm.Name, err)
	}
	c.exp.jobCreated(cm.Name, c.opts.Now())
	return nil
}

func (c *Controller) scheduleAction(cd candidate, a *admission, reason, msg string, now time.Time) action {
	c.exp.claim(cd.cm.Name, project.StateScheduled, slots{}, now)
	return func(ctx context.Context) error {
		st := &project.RunStatus{}
		if a != nil {
			st.ScheduledTime = &metav1.Time{Time: a.scheduled}
			st.Pool, st.Queue, st.Tags = a.pool.Name, a.deployment.Queue, a.slots.Tags
		}
		if reason == "" {
			reason, msg = "Scheduled", "waiting for its scheduled time"
		}
		setState(st, project.StateScheduled, reason, msg, now)
		var d *Deployment
		if a != nil {
			d = a.deployment
		}
		_, err := c.writeStatus(ctx, cd.cm, st, d)
		if err != nil {
			c.exp.drop(cd.cm.Name)
			if apierrors.IsNotFound(err) {
				return nil
			}
		}
		return err
	}
}

func (c *Controller) rejectAction(cd candidate, rej *rejection, now time.Time) action {
	c.exp.claim(cd.cm.Name, project.StateRejected, slots{}, now)
	return func(ctx context.Context) error {
		st := &project.RunStatus{EndTime: &metav1.Time{Time: now}}
		setState(st, project.StateRejected, rej.reason, rej.message, now)
		updated, err := c.writeStatus(ctx, cd.cm, st, nil)
		if err != nil {
			c.exp.drop(cd.cm.Name)
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		c.recorder.Event(updated, corev1.EventTypeWarning, "Rejected", rej.reason+": "+rej.message)
		return nil
	}
}

func (c *Controller) cancelNewAction(cd candidate, a *admission, now time.Time) action {
	c.exp.claim(cd.cm.Name, project.StateCancelled, slots{}, now)
	return func(ctx context.Context) error {
		st := &project.RunStatus{ScheduledTime: &metav1.Time{Time: a.scheduled}, EndTime: &metav1.Time{Time: now}}
		st.Pool, st.Queue, st.Tags = a.pool.Name, a.deployment.Queue, a.slots.Tags
		setState(st, project.StateCancelled, "DeploymentConcurrencyLimit",
			fmt.Sprintf("deployment %s at its concurrency limit (collisionStrategy CancelNew)", a.deployment.FullName()), now)
		updated, err := c.writeStatus(ctx, cd.cm, st, a.deployment)
		if err != nil {
			c.exp.drop(cd.cm.Name)
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		c.recorder.Event(updated, corev1.EventTypeNormal, "Cancelled", st.Message)
		return nil
	}
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
