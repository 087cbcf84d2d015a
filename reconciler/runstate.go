package reconciler

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/podstatus"
)

// step is what a run's sync does next, as nextState decides it; syncRun
// carries it out.
type step struct {
	// state is the state to write, with its reason and message; "" writes
	// nothing.
	state           v1alpha1.RunState
	reason, message string
	// start and end, if set, are the StartTime and EndTime to write.
	start, end *metav1.Time
	// progress marks a Pending or Running write, of a state the run has
	// been in since since: such writes are made only within the progress
	// budget.
	progress bool
	since    time.Time
	// deleteJob deletes the run's Job (with its pods) before the write.
	deleteJob bool
	// logTail keeps the end of the pod's log in the status.
	logTail bool
	// whyNoPods says the run crashed with no pod at all: the Job
	// controller's FailedCreate event may say better why than reason.
	whyNoPods bool
	// requeue looks at the run again after this long, if nothing else
	// brings it back sooner.
	requeue time.Duration
	// attempt is the attempt that ended, for a run with a retry policy;
	// retryAt, when the run waits for its next (state Scheduled).
	attempt *v1alpha1.AttemptStatus
	retryAt *metav1.Time
}

// nextState is the run state machine: from a run's status (a run past
// waiting, not ended), its Job (nil if the cache shows none), the Job's
// pods, why a cancel is requested ("by request", "with its parent run X";
// "" when none is) and the time, it decides the run's next state. A run
// without a Job whose Job is being created is not asked.
func nextState(st *v1alpha1.RunStatus, job *batchv1.Job, pods []*corev1.Pod, cancel string, now time.Time) step {
	if job == nil {
		return withoutJob(st, cancel, now)
	}
	if cancel != "" || st.State == v1alpha1.StateCancelling {
		return cancelStep(st.State, job, cancel, now)
	}
	policy := retriesOf(job, st)
	if s, ended := endedStep(st, job, pods, policy, now); ended {
		return s
	}
	if running := runningPod(pods); running != nil {
		return runningState(st, job, running, policy, now)
	}
	if st.State == v1alpha1.StateRunning {
		return step{} // between pods, or the pod finished and the Job will say so
	}
	return notStartedStep(st, job, pods, policy, now)
}

// withoutJob is the step of a run that has no Job: cancelled, crashed if
// it held its Job, or left to the dispatch pass while it waits.
func withoutJob(st *v1alpha1.RunStatus, cancel string, now time.Time) step {
	state := st.State
	end := &metav1.Time{Time: now}
	switch {
	case state == v1alpha1.StateCancelling:
		return step{state: v1alpha1.StateCancelled, reason: "Cancelled", message: "cancelled; its Job " + st.JobName + " was deleted", end: end}
	case cancel != "" && !state.HoldsSlot():
		return step{state: v1alpha1.StateCancelled, reason: "Cancelled", message: "cancelled " + cancel + " before it started", end: end}
	case state.HoldsSlot():
		final := step{state: v1alpha1.StateCrashed, reason: "JobDeleted", message: fmt.Sprintf("Job %s disappeared while the run held it", st.JobName), end: end}
		return settle(st, retriesOf(nil, st), st.JobName, final, outcome{kind: v1alpha1.OutcomeCrashed})
	}
	return step{} // waiting: the dispatch pass owns it
}

// cancelStep is the step of a run asked to stop, or stopping. The Job is
// deleted (its pods go with it), and the finalizer holds it, marked for
// deletion, until the final state is written.
func cancelStep(state v1alpha1.RunState, job *batchv1.Job, cancel string, now time.Time) step {
	if cancel == "" {
		cancel = "by request" // Cancelling already: the request may be pruned
	}
	switch {
	case job.DeletionTimestamp != nil:
		return step{state: v1alpha1.StateCancelled, reason: "Cancelled", message: "cancelled " + cancel + "; its Job " + job.Name + " was deleted", end: &metav1.Time{Time: now}}
	case state == v1alpha1.StateCancelling:
		return step{deleteJob: true} // the Job's update brings the run back
	}
	return step{deleteJob: true, state: v1alpha1.StateCancelling, reason: "CancelRequested", message: "deleting Job " + job.Name}
}

// endedStep settles an attempt whose Job ended: completed, failed, or
// deleted by someone else before it finished. ended is false while the
// Job runs or waits.
func endedStep(st *v1alpha1.RunStatus, job *batchv1.Job, pods []*corev1.Pod, policy *v1alpha1.RetryPolicy, now time.Time) (step, bool) {
	finished := jobFinished(job)
	if job.DeletionTimestamp != nil && finished == "" {
		// Deleted by someone else before it finished (kubectl delete, a
		// TTL): the finalizer kept it until this state is written.
		final := step{state: v1alpha1.StateCrashed, reason: "JobDeleted", message: "Job " + job.Name + " was deleted before it finished", end: &metav1.Time{Time: now}}
		return settle(st, policy, job.Name, final, outcome{kind: v1alpha1.OutcomeCrashed}), true
	}
	var start *metav1.Time
	if st.StartTime == nil && job.Status.StartTime != nil {
		start = job.Status.StartTime // it ran within one status batch: no Running write
	}
	switch finished {
	case batchv1.JobComplete:
		final := step{state: v1alpha1.StateCompleted, reason: "Completed", message: "Job " + job.Name + " completed", start: start, end: endTime(job, now)}
		return settle(st, policy, job.Name, final, outcome{kind: v1alpha1.OutcomeCompleted}), true
	case batchv1.JobFailed:
		if wait := podEndPending(job, pods, now); wait > 0 {
			return step{requeue: wait}, true
		}
		final := step{state: v1alpha1.StateFailed, start: start, end: endTime(job, now), logTail: true}
		return failedStep(st, job, pods, policy, final), true
	}
	return step{}, false
}

// notStartedStep is the step of a run whose pod has not started: past the
// pool's pod_watch_timeout_seconds it has crashed; until then the status
// carries why it waits.
func notStartedStep(st *v1alpha1.RunStatus, job *batchv1.Job, pods []*corev1.Pod, policy *v1alpha1.RetryPolicy, now time.Time) step {
	reason, msg := waitingReason(pods)
	timeout := podWatchTimeout(job)
	since := admittedAt(job)
	if timeout > 0 && now.Sub(since) >= timeout {
		s := step{state: v1alpha1.StateCrashed, reason: reason, deleteJob: true, end: &metav1.Time{Time: now}, logTail: true}
		if reason == "" {
			s.whyNoPods = len(pods) == 0
			s.reason, msg = "PodNotStarted", "no pod started"
		}
		s.message = notStartedMessage(timeout, msg)
		return settle(st, policy, job.Name, s, outcome{kind: v1alpha1.OutcomeCrashed})
	}
	var s step
	if timeout > 0 {
		s.requeue = timeout - now.Sub(since)
	}
	if reason == "" {
		reason, msg = v1alpha1.ReasonDispatched, v1alpha1.DispatchedMessage(job.Name)
	}
	if st.State != v1alpha1.StatePending || st.Reason != reason || st.Message != msg {
		s.state, s.reason, s.message, s.progress, s.since = v1alpha1.StatePending, reason, msg, true, since
	}
	return s
}

// failedStep ends an attempt whose Job failed: Failed with the Job's
// reason; with a retry policy, Crashed when its pod was taken away rather
// than the flow failing, and retried as the policy says.
func failedStep(st *v1alpha1.RunStatus, job *batchv1.Job, pods []*corev1.Pod, policy *v1alpha1.RetryPolicy, final step) step {
	cond := jobCondition(job, batchv1.JobFailed)
	final.reason, final.message = cond.Reason, cond.Message
	if end := failedPodEnd(pods); end != "" {
		final.message += "; " + end
	}
	if policy == nil {
		return final
	}
	o := failedOutcome(cond, pods)
	if o.kind != v1alpha1.OutcomeFailed {
		final.state, final.reason, final.message = v1alpha1.StateCrashed, o.reason, o.message
	}
	return settle(st, policy, job.Name, final, o)
}

// podEndGrace is how long a failed Job's final state waits for its pod's
// own end to reach the cache.
const podEndGrace = 5 * time.Second

// podEndPending is how long to wait before a failed Job's run is settled:
// the Job controller marks the Job failed after it has seen the pod fail,
// but the reconciler's pod watch may bring that pod's end after the Job's
// update, and the run's final message says how the pod ended (OOMKilled,
// a signal) only if its end has been seen. While no pod of the Job is
// cached as failed and one not being deleted is cached as not yet ended,
// it waits, for at most podEndGrace from the Job's Failed condition; the
// pod's update brings the run back sooner. 0 when nothing is to be waited
// for.
func podEndPending(job *batchv1.Job, pods []*corev1.Pod, now time.Time) time.Duration {
	cond := jobCondition(job, batchv1.JobFailed)
	if cond == nil {
		return 0
	}
	pending := false
	for _, p := range pods {
		switch {
		case p.Status.Phase == corev1.PodFailed:
			return 0 // an end to tell (failedPodEnd)
		case p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded:
			// A pod being deleted (the Job's deadline passed) ends
			// because of the Job's failure, not as its cause.
			pending = true
		}
	}
	if !pending {
		return 0
	}
	return max(cond.LastTransitionTime.Add(podEndGrace).Sub(now), 0)
}

// failedPodEnd says how the newest failed pod ended, as describe shows a
// pod ("pod r-1: OOMKilled (exit 137)"): the Job's own reason
// (BackoffLimitExceeded) does not tell a flow that raised from one the
// kernel killed for its memory, and the pod may be gone when someone asks.
// "" when no pod failed.
func failedPodEnd(pods []*corev1.Pod) string {
	var last *corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == corev1.PodFailed && (last == nil || last.CreationTimestamp.Before(&p.CreationTimestamp)) {
			last = p
		}
	}
	if last == nil {
		return ""
	}
	return "pod " + last.Name + ": " + podstatus.Summary(last)
}

// newestPod is the pod created last; nil when there is none.
func newestPod(pods []*corev1.Pod) *corev1.Pod {
	var last *corev1.Pod
	for _, p := range pods {
		if last == nil || last.CreationTimestamp.Before(&p.CreationTimestamp) {
			last = p
		}
	}
	return last
}

// runningState is the step of a run whose pod runs: Running once, from
// its flow's start; and, past its timeout counted from that start, Failed
// (TimedOut) with its Job deleted. Until then it is looked at again when
// the timeout ends.
func runningState(st *v1alpha1.RunStatus, job *batchv1.Job, pod *corev1.Pod, policy *v1alpha1.RetryPolicy, now time.Time) step {
	started := podStartedAt(pod)
	if started.IsZero() {
		started = now
	}
	var s step
	if limit := timeoutOf(job); limit > 0 && pod.Status.Phase == corev1.PodRunning {
		if ran := now.Sub(started); ran >= limit {
			final := step{state: v1alpha1.StateFailed, reason: ReasonTimedOut, end: &metav1.Time{Time: now}, deleteJob: true, logTail: true,
				message: fmt.Sprintf("ran past its timeout of %s, counted from its pod's start at %s; its Job %s was deleted", limit, started.UTC().Format(time.RFC3339), job.Name)}
			if st.StartTime == nil {
				final.start = &metav1.Time{Time: started}
			}
			return settle(st, policy, job.Name, final, outcome{kind: v1alpha1.OutcomeFailed, reason: ReasonTimedOut})
		}
		s.requeue = limit - now.Sub(started)
	}
	if st.State == v1alpha1.StateRunning {
		return s
	}
	s.state, s.reason, s.message = v1alpha1.StateRunning, "Started", "pod "+pod.Name+" is running"
	s.start, s.progress, s.since = &metav1.Time{Time: started}, true, started
	return s
}

// ReasonTimedOut ends a run that ran past its timeout.
const ReasonTimedOut = "TimedOut"

// notStartedMessage is the message of a run whose pod did not start in
// time.
func notStartedMessage(timeout time.Duration, msg string) string {
	return fmt.Sprintf("the pod did not start within pod_watch_timeout_seconds (%s): %s", timeout, msg)
}
