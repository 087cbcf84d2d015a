package reconciler

import (
	"context"
	"io"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/podstatus"
)

// logTailLines bounds the log kept in a Failed or Crashed run's status.
const (
	logTailLines = 20
	logTailBytes = 4096
)

// syncRun converges one run from its Job: it reads the run, its Job and
// the Job's pods from the caches, asks nextState what comes next (Pending,
// Running, Completed, Failed, a crash, a cancellation), holds a progress
// write to its budget and carries the step out (takeStep). Waiting runs
// belong to the dispatch pass.
func (c *Controller) syncRun(ctx context.Context, name string) error {
	cm, err := c.runs.Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(name)
		return nil
	}
	if err != nil {
		return err
	}
	if state := c.state.stateOf(cm); state.Final() {
		c.releaseJob(cm, state)
		return nil // the label is written with the status: no need to decode it
	}
	if c.exp.stale(name, cm.ResourceVersion) {
		return nil // our own status write is not in the cache yet; its event brings us back
	}
	now := c.opts.Now()
	st := c.runStatus(cm)
	state := st.State
	claim, claimed := c.exp.pending(name, now)
	if claimed && claim.state != v1alpha1.StatePending && claim.state != state {
		return nil // our own status write is not in the cache yet; its event brings us back
	}
	if state.Final() {
		return nil
	}
	job, _ := c.jobOf(cm, st.CurrentAttempt()) // a Job that is not the run's is never acted on
	if job == nil && claimed && claim.state == v1alpha1.StatePending {
		return nil // its Job is being created; its event brings us back
	}
	var pods []*corev1.Pod
	if job != nil {
		pods = c.podsOf(job)
	}
	next := nextState(st, job, pods, c.cancelCause(cm), now)
	if next.requeue > 0 {
		c.queue.AddAfter(name, next.requeue)
	}
	if next.progress && !c.progressBudget(name, next, now) {
		return nil
	}
	return c.takeStep(ctx, cm, st, job, next, now)
}

// takeStep carries out a run's next step: it gathers what the step keeps
// (why no pod was made, the log's tail, read while the pod is there),
// deletes the Job when the step says so, and writes the run's new state.
func (c *Controller) takeStep(ctx context.Context, cm *corev1.ConfigMap, st *v1alpha1.RunStatus, job *batchv1.Job, next step, now time.Time) error {
	name := cm.Name
	if next.whyNoPods {
		c.whyNoPods(ctx, job, &next)
	}
	// The log is read before the Job is deleted, while its pod is still
	// there to read it from.
	var tail string
	if next.logTail && job != nil {
		var err error
		tail, err = c.logTail(ctx, job)
		if wait := logTailWait(err, next, now); wait > 0 {
			c.queue.AddAfter(name, wait)
			return nil
		}
		if err != nil {
			c.log.Warn("run's log tail not kept", "run", name, "err", err)
		}
	}
	if next.deleteJob {
		if err := c.deleteJob(ctx, job); err != nil {
			return err
		}
	}
	if next.state == "" {
		return nil
	}
	started := applyStep(st, job, next, tail)
	if next.state.Final() {
		err := c.finish(ctx, cm, st, next.state, next.reason, next.message, now)
		if err == nil && started {
			c.metrics.observeStarted(st, c.deploymentOf(cm))
		}
		return err
	}
	// No Event for progress: the state says it, and the Job's and pod's
	// own events are there for whoever looks at them.
	setState(st, next.state, next.reason, next.message, now)
	_, err := c.writeStatus(ctx, cm, st)
	if err == nil && started {
		c.metrics.observeStarted(st, c.deploymentOf(cm))
	}
	return ignoreNotFound(err)
}

// whyNoPods gives a run that crashed with no pod at all the Job
// controller's FailedCreate reason, where it has one.
func (c *Controller) whyNoPods(ctx context.Context, job *batchv1.Job, next *step) {
	reason, msg := c.podsRefused(ctx, job)
	if reason == "" {
		return
	}
	msg = notStartedMessage(podWatchTimeout(job), msg)
	if next.attempt != nil {
		next.attempt.Reason, next.attempt.Message = reason, v1alpha1.Truncate(msg, maxAttemptMessage)
	}
	if next.state.Final() {
		next.reason, next.message = reason, msg
	}
}

// applyStep writes into a run's status what a step of nextState brings
// with its state: the admission from the Job, the start and end, the log's
// tail (read by syncRun), the ended attempt, and the wait for the next. It
// reports whether the step starts the run, for the wait-time metric.
func applyStep(st *v1alpha1.RunStatus, job *batchv1.Job, next step, tail string) (started bool) {
	// The first status since its Job was created takes the Job's record
	// of the admission, decoded only for a write: under a write budget a
	// run comes back many times before one is made.
	if job != nil && st.JobName != job.Name {
		fillFromJob(st, job)
	}
	started = next.start != nil && st.StartTime == nil
	if next.start != nil {
		st.StartTime = next.start
	}
	if next.end != nil {
		st.EndTime = next.end
	}
	if next.logTail {
		st.LogTail = tail
	}
	if a := next.attempt; a != nil {
		if a.PendingTime == nil { // its Pending was never written: from the Job
			a.PendingTime = st.PendingTime
		}
		st.Attempts = append(st.Attempts, *a)
	}
	if next.retryAt != nil {
		// The next attempt waits, its slots free, for its time and its
		// turn: the dispatch pass's again.
		st.Attempt, st.RetryTime = st.CurrentAttempt()+1, next.retryAt
		st.StartTime, st.EndTime = nil, nil
	}
	return started
}

// progressBudget decides whether a Pending or Running write (a step of
// nextState) is made now: not while progressHeld holds it, and within the
// budget (StatusWriteQPS). A write put off comes back after progressRetry
// batch periods. (Coming back after one, a burst of a thousand runs came
// back sixteen times each.)
func (c *Controller) progressBudget(run string, next step, now time.Time) bool {
	held := progressHeld(c.load.slow(c.opts.StatusWriteMaxLatency, time.Now()), next, now)
	if !held && c.progress.TryAccept() {
		return true
	}
	c.metrics.StateDeferred.Inc()
	c.queue.AddAfter(run, progressRetry*c.opts.StatusBatchPeriod)
	return false
}

// progressHeld says whether a progress write waits while the API server
// is saturated (our writes take longer than StatusWriteMaxLatency): a
// state is reported only once it has lasted progressHold, so a run that
// moves on sooner never costs the write and one that lasts is still
// shown; and a Pending that says only that the Job exists (no pod is
// stuck) is not reported until the API server has room again. Under an
// overloaded API server every pod starts late, and those Pending writes
// came to 0.7 a run, for nothing the run's Job does not say.
func progressHeld(saturated bool, next step, now time.Time) bool {
	if !saturated {
		return false
	}
	return now.Sub(next.since) < progressHold || (next.state == v1alpha1.StatePending && next.reason == v1alpha1.ReasonDispatched)
}

// progressRetry is how many batch periods a progress write put off waits;
// progressHold is how long a state must last to be reported while the API
// server is saturated.
const (
	progressRetry = 5
	progressHold  = 30 * time.Second
)

func (c *Controller) deleteJob(ctx context.Context, job *batchv1.Job) error {
	bg := metav1.DeletePropagationBackground
	err := c.client.BatchV1().Jobs(c.opts.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{
		PropagationPolicy: &bg,
		Preconditions:     &metav1.Preconditions{UID: &job.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// finish writes a final state and, unless it is Completed, its Event: a
// run that ended otherwise is worth a user's notice; one that completed is
// told by its state, and by its Job's own Completed event.
func (c *Controller) finish(ctx context.Context, cm *corev1.ConfigMap, st *v1alpha1.RunStatus, state v1alpha1.RunState, reason, msg string, now time.Time) error {
	setState(st, state, reason, msg, now)
	updated, err := c.writeStatus(ctx, cm, st)
	if err != nil {
		return ignoreNotFound(err)
	}
	switch state {
	case v1alpha1.StateCompleted:
	case v1alpha1.StateCancelled:
		c.recorder.Event(updated, corev1.EventTypeNormal, string(state), msg)
	default:
		c.recorder.Event(updated, corev1.EventTypeWarning, string(state), msg)
	}
	c.metrics.observeFinished(st, c.deploymentOf(cm))
	return nil
}

// logTail fetches the end of the log of the Job's newest pod: "" when
// the Job has no pod.
func (c *Controller) logTail(ctx context.Context, job *batchv1.Job) (string, error) {
	pod := newestPod(c.podsOf(job))
	if pod == nil {
		return "", nil
	}
	lines, limit := int64(logTailLines), int64(logTailBytes)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := c.client.CoreV1().Pods(c.opts.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{TailLines: &lines, LimitBytes: &limit}).Stream(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, logTailBytes))
	return string(b), err
}

// logTailWait says how long a final state waits to read its pod's log
// again after reading it failed: the log is read through the API server
// from the node's kubelet, and either may be too busy to answer in time,
// while the log is what tells why a flow failed (its traceback). 0 writes
// the state without it: when the failure lasts (the pod is gone, or its
// container never ran), when the Job is being deleted (a crash, a
// timeout: its pod goes with it), or once logTailGrace has passed since
// the run ended.
func logTailWait(err error, next step, now time.Time) time.Duration {
	if err == nil || next.deleteJob || next.end == nil || apierrors.IsNotFound(err) || apierrors.IsBadRequest(err) {
		return 0
	}
	if now.Sub(next.end.Time) >= logTailGrace {
		return 0
	}
	return logTailRetry
}

// logTailGrace bounds how long a final state waits for its log;
// logTailRetry is the wait between two reads.
const (
	logTailGrace = 20 * time.Second
	logTailRetry = 2 * time.Second
)

// podsRefused says why a Job has no pod at all: the Job controller's
// FailedCreate event carries the API server's refusal (a Pod Security
// Standard, a quota). Read only for a run that crashed with no pod.
func (c *Controller) podsRefused(ctx context.Context, job *batchv1.Job) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	evs, err := c.client.CoreV1().Events(c.opts.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.uid=" + string(job.UID) + ",reason=FailedCreate",
	})
	if err != nil || len(evs.Items) == 0 {
		return "", ""
	}
	last := evs.Items[len(evs.Items)-1]
	return "FailedCreate", v1alpha1.Truncate(last.Message, 1024)
}

func runningPod(pods []*corev1.Pod) *corev1.Pod {
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded {
			return p
		}
	}
	return nil
}

// waitingReason says why the run's pod is not running: the first pod's
// that is stuck (a container's waiting reason, or the scheduler's).
func waitingReason(pods []*corev1.Pod) (string, string) {
	for _, p := range pods {
		if reason, msg := podstatus.Stuck(p); reason != "" {
			return reason, msg
		}
	}
	return "", ""
}

func podWatchTimeout(job *batchv1.Job) time.Duration {
	d, err := time.ParseDuration(job.Annotations[v1alpha1.AnnotationPodWatchTimeout])
	if err != nil {
		return 0
	}
	return d
}

func endTime(job *batchv1.Job, now time.Time) *metav1.Time {
	if job.Status.CompletionTime != nil {
		return job.Status.CompletionTime
	}
	for _, cond := range job.Status.Conditions {
		if cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue {
			t := cond.LastTransitionTime
			return &t
		}
	}
	return &metav1.Time{Time: now}
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
