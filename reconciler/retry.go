package reconciler

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

// A run with a retry policy makes each attempt a Job of its own, named by
// v1alpha1.AttemptJobName and carrying the attempt (v1alpha1.AnnotationAttempt) and
// the policy (v1alpha1.AnnotationRetries). When an attempt's Job ends, nextState
// classifies how (attemptOutcome), and settle decides, from the Job alone,
// whether the run ends or waits for its next attempt (retryDecision): it
// then goes back to Scheduled, reason Retrying, its slots free, and the
// dispatch pass admits the next attempt once its delay is over and its
// turn in the queue has come. The attempt number only ever moves forward
// by a status write made against the version of the run that showed the
// ended attempt, so no attempt is made twice and none past the policy.

// retriesOf is a run's retry policy: its Job's, else (no Job) the one its
// status recorded from it; nil for none.
func retriesOf(job *batchv1.Job, st *v1alpha1.RunStatus) *v1alpha1.RetryPolicy {
	if job == nil {
		if st == nil {
			return nil
		}
		return st.Retries
	}
	raw := job.Annotations[v1alpha1.AnnotationRetries]
	if raw == "" {
		return nil
	}
	p := &v1alpha1.RetryPolicy{}
	if json.Unmarshal([]byte(raw), p) != nil || p.Attempts < 1 {
		return nil
	}
	return p
}

// attemptOfJob is the attempt a Job is: 1 unless it says otherwise.
func attemptOfJob(job *batchv1.Job) int32 {
	n, err := strconv.ParseInt(job.Annotations[v1alpha1.AnnotationAttempt], 10, 32)
	if err != nil || n < 1 {
		return 1
	}
	return int32(n)
}

// timeoutOf is how long a Job's run may run from its pod's start; 0 for
// no limit.
func timeoutOf(job *batchv1.Job) time.Duration {
	d, err := time.ParseDuration(job.Annotations[v1alpha1.AnnotationTimeout])
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

// outcome is how an attempt ended: v1alpha1.OutcomeCompleted, Failed,
// Crashed or Evicted, why, and the flow's exit code when it exited.
type outcome struct {
	kind, reason, message string
	exitCode              *int32
}

var (
	ruleIndexRE = regexp.MustCompile(`rule at index (\d+)`)
	exitCodeRE  = regexp.MustCompile(`exit code (\d+)`)
)

// failedOutcome classifies a Job that failed: its pod was disrupted (the
// podFailurePolicy's first rule, or a pod carrying DisruptionTarget: by
// the Eviction API, preemption or node pressure it was Evicted; by its
// node going away, Crashed), or the flow failed.
func failedOutcome(cond *batchv1.JobCondition, pods []*corev1.Pod) outcome {
	rule := -1
	if m := ruleIndexRE.FindStringSubmatch(cond.Message); cond.Reason == batchv1.JobReasonPodFailurePolicy && m != nil {
		rule, _ = strconv.Atoi(m[1])
	}
	pod, disruption := disrupted(pods)
	if rule == planner.RuleDisruption || (rule < 0 && disruption != nil) {
		o := outcome{kind: v1alpha1.OutcomeEvicted, reason: "Evicted", message: cond.Message}
		if disruption != nil {
			o.message = fmt.Sprintf("pod %s: %s: %s", pod, disruption.Reason, disruption.Message)
			if disruption.Reason == "DeletionByTaintManager" || disruption.Reason == "DeletionByPodGC" {
				o.kind, o.reason = v1alpha1.OutcomeCrashed, "NodeLost"
			}
		}
		return o
	}
	o := outcome{kind: v1alpha1.OutcomeFailed, reason: cond.Reason, message: cond.Message, exitCode: exitCodeOf(pods)}
	if m := exitCodeRE.FindStringSubmatch(cond.Message); o.exitCode == nil && m != nil {
		if n, err := strconv.ParseInt(m[1], 10, 32); err == nil {
			code := int32(n)
			o.exitCode = &code
		}
	}
	return o
}

// disrupted returns the first pod whose DisruptionTarget condition is
// true, with that condition.
func disrupted(pods []*corev1.Pod) (string, *corev1.PodCondition) {
	for _, p := range pods {
		for i := range p.Status.Conditions {
			if c := &p.Status.Conditions[i]; c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
				return p.Name, c
			}
		}
	}
	return "", nil
}

// exitCodeOf is the first non-zero exit code of a container of the pods.
func exitCodeOf(pods []*corev1.Pod) *int32 {
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				code := t.ExitCode
				return &code
			}
		}
	}
	return nil
}

// retryDecision decides whether an attempt that ended with o is tried
// again, and when: never once the policy's attempts are made, for an
// outcome its on does not list, or for an exit code it never retries;
// else at the end plus the policy's delay for that attempt.
func retryDecision(o outcome, p *v1alpha1.RetryPolicy, attempt int32, ended time.Time) (bool, time.Time) {
	switch {
	case p == nil || attempt >= p.Attempts || !p.Retries(o.kind):
		return false, time.Time{}
	case o.kind == v1alpha1.OutcomeFailed && o.exitCode != nil && p.NeverRetried(*o.exitCode):
		return false, time.Time{}
	}
	return true, ended.Add(p.DelayAfter(attempt))
}

// maxAttemptMessage bounds an attempt's message in the run's status,
// which lists up to MaxRetryAttempts of them.
const maxAttemptMessage = 256

// settle takes the step that ends a run's current attempt with o (final,
// as a run without retries would take it) and, for a run with a retry
// policy, records the attempt and turns the step into the wait for the
// next one when the policy says so.
func settle(st *v1alpha1.RunStatus, p *v1alpha1.RetryPolicy, jobName string, final step, o outcome) step {
	if p == nil {
		return final
	}
	attempt := st.CurrentAttempt()
	start := final.start
	if start == nil {
		start = st.StartTime
	}
	final.attempt = &v1alpha1.AttemptStatus{
		Attempt: attempt, JobName: jobName, Outcome: o.kind, Reason: final.reason,
		Message: v1alpha1.Truncate(final.message, maxAttemptMessage), ExitCode: o.exitCode,
		PendingTime: st.PendingTime, StartTime: start, EndTime: final.end,
	}
	retry, at := retryDecision(o, p, attempt, final.end.Time)
	if !retry {
		return final
	}
	return step{
		state: v1alpha1.StateScheduled, reason: v1alpha1.ReasonRetrying,
		message: fmt.Sprintf("attempt %d of %d at %s, after attempt %d ended %s: %s",
			attempt+1, p.Attempts, at.UTC().Format(time.RFC3339), attempt, o.kind, final.message),
		retryAt: &metav1.Time{Time: at}, attempt: final.attempt,
		deleteJob: final.deleteJob, logTail: final.logTail, whyNoPods: final.whyNoPods,
	}
}

// podStartedAt is when a pod's flow started: its first container's
// start, not the pod's (which counts the image pull), so a run's timeout
// is counted from when its code began to run.
func podStartedAt(pod *corev1.Pod) time.Time {
	var first time.Time
	for _, cs := range pod.Status.ContainerStatuses {
		var t metav1.Time
		switch {
		case cs.State.Running != nil:
			t = cs.State.Running.StartedAt
		case cs.State.Terminated != nil:
			t = cs.State.Terminated.StartedAt
		}
		if !t.IsZero() && (first.IsZero() || t.Before(&metav1.Time{Time: first})) {
			first = t.Time
		}
	}
	if first.IsZero() && pod.Status.StartTime != nil {
		first = pod.Status.StartTime.Time
	}
	return first
}
