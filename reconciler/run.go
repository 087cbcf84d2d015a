package reconciler

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// jobCreateGrace is how long a Job we created may be missing from the
// cache before we create it again (AlreadyExists makes that harmless).
const jobCreateGrace = 30 * time.Second

// logTailLines bounds the log kept in a Failed or Crashed run's status.
const (
	logTailLines = 20
	logTailBytes = 4096
)

// syncRun converges one run that holds (or is giving up) its slots: it
// creates the Job if it is missing, follows the Job and its pods to a final
// state, detects crashes and carries out cancellation.
func (c *Controller) syncRun(ctx context.Context, name string) error {
	cm, err := c.runs.Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(name)
		return nil
	}
	if err != nil {
		return err
	}
	now := c.opts.Now()
	pr := c.parsed.get(cm)
	state := pr.status.State
	if cl, ok := c.exp.pending(name, now); ok && cl.state != state {
		return nil // our own write is not in the cache yet; its event brings us back
	}
	st := copyStatus(pr.status)
	_, cancel := cm.Annotations[project.AnnotationCancel]

	switch {
	case state.Final():
		return nil
	case state == "" || state == project.StateScheduled:
		if !cancel {
			return nil // the dispatch pass owns waiting runs
		}
		st.EndTime = &metav1.Time{Time: now}
		return c.finish(ctx, cm, st, project.StateCancelled, "Cancelled", "cancelled before it started", now)
	}

	job, err := c.jobs.Get(st.JobName)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if apierrors.IsNotFound(err) {
		job = nil
	}

	if cancel || state == project.StateCancelling {
		return c.cancel(ctx, cm, st, job, now)
	}

	if job == nil {
		je := c.exp.jobState(name)
		if je.gone || state == project.StateRunning {
			st.EndTime = &metav1.Time{Time: now}
			return c.finish(ctx, cm, st, project.StateCrashed, "JobDeleted", fmt.Sprintf("Job %s disappeared while the run held it", st.JobName), now)
		}
		if !je.created.IsZero() && now.Sub(je.created) < jobCreateGrace {
			c.queue.AddAfter(name, jobCreateGrace)
			return nil
		}
		// Admitted but no Job: the last leader stopped between taking the
		// slot and creating the Job, or the create failed. Create it now.
		return c.recreateJob(ctx, cm, st)
	}

	switch jobFinished(job) {
	case batchv1.JobComplete:
		st.EndTime = endTime(job, now)
		return c.finish(ctx, cm, st, project.StateCompleted, "Completed", "Job "+job.Name+" completed", now)
	case batchv1.JobFailed:
		cond := jobCondition(job, batchv1.JobFailed)
		st.EndTime = endTime(job, now)
		st.LogTail = c.logTail(ctx, job)
		return c.finish(ctx, cm, st, project.StateFailed, cond.Reason, cond.Message, now)
	}

	pods, err := c.pods.List(labels.SelectorFromSet(labels.Set{project.LabelRunName: job.Name}))
	if err != nil {
		return err
	}
	if running := runningPod(pods); running != nil {
		if state == project.StatePending {
			st.StartTime = &metav1.Time{Time: now}
			if s := running.Status.StartTime; s != nil {
				st.StartTime = s
			}
			setState(st, project.StateRunning, "Started", "pod "+running.Name+" is running", now)
			updated, err := c.writeStatus(ctx, cm, st, nil)
			if err != nil {
				return ignoreNotFound(err)
			}
			c.recorder.Eventf(updated, corev1.EventTypeNormal, "Started", "Pod %s is running", running.Name)
		}
		return nil
	}
	if state != project.StatePending {
		return nil
	}

	// Pending: the pod has not started. Past the pool's
	// pod_watch_timeout_seconds it has crashed; until then its status
	// carries why it waits.
	reason, msg := waitingReason(pods)
	timeout := podWatchTimeout(job)
	since := now
	if st.PendingTime != nil {
		since = st.PendingTime.Time
	}
	if timeout > 0 && now.Sub(since) >= timeout {
		if reason == "" {
			reason, msg = "PodNotStarted", "no pod started"
		}
		if err := c.deleteJob(ctx, job); err != nil {
			return err
		}
		st.EndTime = &metav1.Time{Time: now}
		st.LogTail = c.logTail(ctx, job)
		return c.finish(ctx, cm, st, project.StateCrashed, reason,
			fmt.Sprintf("the pod did not start within pod_watch_timeout_seconds (%s): %s", timeout, msg), now)
	}
	if timeout > 0 {
		c.queue.AddAfter(name, timeout-now.Sub(since))
	}
	if reason != "" && (st.Reason != reason || st.Message != msg) {
		setState(st, project.StatePending, reason, msg, now)
		_, err := c.writeStatus(ctx, cm, st, nil)
		return ignoreNotFound(err)
	}
	return nil
}

// recreateJob resolves a run's Job again from its stored values.
func (c *Controller) recreateJob(ctx context.Context, cm *corev1.ConfigMap, st *project.RunStatus) error {
	cfgMaps, err := c.configs.List(labels.Everything())
	if err != nil {
		return err
	}
	cfg := c.cfgCache.build(cfgMaps)
	req, err := project.DecodeRunRequest(cm.Data[project.KeyRun])
	if err != nil {
		return c.finish(ctx, cm, st, project.StateCrashed, ReasonInvalidRequest, err.Error(), c.opts.Now())
	}
	d, pool := cfg.Deployments[req.Deployment], cfg.Pools[st.Pool]
	if d == nil || pool == nil {
		return fmt.Errorf("run %s: deployment %s or pool %s is not installed; waiting", cm.Name, req.Deployment, st.Pool)
	}
	job, err := resolveJob(c.opts.Namespace, cm, &d.Deployment, pool, st.Parameters, st.JobVariables)
	if err != nil {
		return c.finish(ctx, cm, st, project.StateCrashed, ReasonInvalidJobVariables, err.Error(), c.opts.Now())
	}
	return c.createJob(ctx, cm, job)
}

// cancel deletes the run's Job (background propagation: its pods go with
// it) and ends the run Cancelled once the Job is gone.
func (c *Controller) cancel(ctx context.Context, cm *corev1.ConfigMap, st *project.RunStatus, job *batchv1.Job, now time.Time) error {
	if job != nil {
		if job.DeletionTimestamp == nil {
			if err := c.deleteJob(ctx, job); err != nil {
				return err
			}
		}
		if st.State != project.StateCancelling {
			setState(st, project.StateCancelling, "CancelRequested", "deleting Job "+job.Name, now)
			_, err := c.writeStatus(ctx, cm, st, nil)
			return ignoreNotFound(err)
		}
		return nil // the Job's delete event brings us back
	}
	st.EndTime = &metav1.Time{Time: now}
	return c.finish(ctx, cm, st, project.StateCancelled, "Cancelled", "cancelled by request", now)
}

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

// finish writes a final state and its Event.
func (c *Controller) finish(ctx context.Context, cm *corev1.ConfigMap, st *project.RunStatus, state project.RunState, reason, msg string, now time.Time) error {
	setState(st, state, reason, msg, now)
	updated, err := c.writeStatus(ctx, cm, st, nil)
	if err != nil {
		return ignoreNotFound(err)
	}
	typ := corev1.EventTypeNormal
	if state != project.StateCompleted && state != project.StateCancelled {
		typ = corev1.EventTypeWarning
	}
	c.recorder.Event(updated, typ, string(state), msg)
	c.metrics.RunsFinished.WithLabelValues(string(state)).Inc()
	return nil
}

// logTail fetches the end of the run's pod log, best effort: a pod that
// never started has none.
func (c *Controller) logTail(ctx context.Context, job *batchv1.Job) string {
	pods, err := c.pods.List(labels.SelectorFromSet(labels.Set{project.LabelRunName: job.Name}))
	if err != nil || len(pods) == 0 {
		return ""
	}
	lines, limit := int64(logTailLines), int64(logTailBytes)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := c.client.CoreV1().Pods(c.opts.Namespace).GetLogs(pods[len(pods)-1].Name, &corev1.PodLogOptions{TailLines: &lines, LimitBytes: &limit}).Stream(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, logTailBytes))
	return string(b)
}

func runningPod(pods []*corev1.Pod) *corev1.Pod {
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded {
			return p
		}
	}
	return nil
}

// waitingReason says why the run's pod is not running: a container's
// waiting reason, or the scheduler's.
func waitingReason(pods []*corev1.Pod) (string, string) {
	for _, p := range pods {
		for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
				return w.Reason, strings.TrimSpace(w.Message)
			}
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
				return cond.Reason, cond.Message
			}
		}
	}
	return "", ""
}

func podWatchTimeout(job *batchv1.Job) time.Duration {
	d, err := time.ParseDuration(job.Annotations[AnnotationPodWatchTimeout])
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

func copyStatus(st *project.RunStatus) *project.RunStatus {
	cp := *st
	cp.Conditions = append([]metav1.Condition(nil), st.Conditions...)
	return &cp
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
