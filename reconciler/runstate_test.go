package reconciler

import (
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestNextState(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	end := at(0)
	job := func(edit func(*batchv1.Job)) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "flows-r", UID: "job-uid",
			CreationTimestamp: *at(-time.Minute),
			Annotations:       map[string]string{v1alpha1.AnnotationAdmission: `{"scheduledTime":"2026-12-02T11:58:00Z","admittedAt":"2026-12-02T11:59:00Z"}`}}}
		if edit != nil {
			edit(j)
		}
		return j
	}
	timeout := func(d string) func(*batchv1.Job) {
		return func(j *batchv1.Job) { j.Annotations[v1alpha1.AnnotationPodWatchTimeout] = d }
	}
	finished := func(typ batchv1.JobConditionType, reason, msg string) func(*batchv1.Job) {
		return func(j *batchv1.Job) {
			j.Status.StartTime = at(-50 * time.Second)
			j.Status.Conditions = []batchv1.JobCondition{{Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastTransitionTime: *at(-time.Second)}}
			if typ == batchv1.JobComplete {
				j.Status.CompletionTime = at(-2 * time.Second)
			}
		}
	}
	deleting := func(j *batchv1.Job) { j.DeletionTimestamp = at(-time.Second) }
	pod := func(name string, phase corev1.PodPhase, edit func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: phase}}
		if edit != nil {
			edit(p)
		}
		return p
	}
	terminated := func(created *metav1.Time, reason string, code int32) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.CreationTimestamp = *created
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "flow", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}}}
		}
	}
	pulling := pod("r-1", corev1.PodPending, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "flow", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "no such image"}}}}
	})
	status := func(state v1alpha1.RunState, edit func(*v1alpha1.RunStatus)) *v1alpha1.RunStatus {
		st := &v1alpha1.RunStatus{State: state, JobName: "flows-r"}
		if edit != nil {
			edit(st)
		}
		return st
	}
	admitted := now.Add(-time.Minute)

	cases := []struct {
		name   string
		st     *v1alpha1.RunStatus
		job    *batchv1.Job
		pods   []*corev1.Pod
		cancel string
		want   step
	}{
		{name: "waiting run without a Job: the dispatch pass's", st: status(v1alpha1.StateScheduled, nil), want: step{}},
		{name: "waiting run cancelled before it started", st: status(v1alpha1.StateScheduled, nil), cancel: "by request",
			want: step{state: v1alpha1.StateCancelled, reason: "Cancelled", message: "cancelled by request before it started", end: end}},
		{name: "waiting run cancelled with its parent", st: status(v1alpha1.StateScheduled, nil), cancel: "with its parent run p",
			want: step{state: v1alpha1.StateCancelled, reason: "Cancelled", message: "cancelled with its parent run p before it started", end: end}},
		{name: "Job gone while cancelling", st: status(v1alpha1.StateCancelling, nil),
			want: step{state: v1alpha1.StateCancelled, reason: "Cancelled", message: "cancelled; its Job flows-r was deleted", end: end}},
		{name: "Job gone while the run held it", st: status(v1alpha1.StateRunning, nil),
			want: step{state: v1alpha1.StateCrashed, reason: "JobDeleted", message: "Job flows-r disappeared while the run held it", end: end}},
		{name: "cancel requested: the Job is deleted and Cancelling written", st: status(v1alpha1.StateRunning, nil), job: job(nil), cancel: "by request",
			want: step{state: v1alpha1.StateCancelling, reason: "CancelRequested", message: "deleting Job flows-r", deleteJob: true}},
		{name: "Cancelling, its Job not yet marked: deleted again, nothing written", st: status(v1alpha1.StateCancelling, nil), job: job(nil),
			want: step{deleteJob: true}},
		{name: "Cancelling, its Job marked for deletion: Cancelled", st: status(v1alpha1.StateCancelling, nil), job: job(deleting),
			want: step{state: v1alpha1.StateCancelled, reason: "Cancelled", message: "cancelled by request; its Job flows-r was deleted", end: end}},
		{name: "Job deleted by someone else before it finished", st: status(v1alpha1.StateRunning, nil), job: job(deleting),
			want: step{state: v1alpha1.StateCrashed, reason: "JobDeleted", message: "Job flows-r was deleted before it finished", end: end}},
		{name: "Job complete, seen before Running was written: its start is taken from the Job", st: status(v1alpha1.StatePending, nil), job: job(finished(batchv1.JobComplete, "", "")),
			want: step{state: v1alpha1.StateCompleted, reason: "Completed", message: "Job flows-r completed", start: at(-50 * time.Second), end: at(-2 * time.Second)}},
		{name: "Job complete after Running: the start stays", st: status(v1alpha1.StateRunning, func(s *v1alpha1.RunStatus) { s.StartTime = at(-40 * time.Second) }),
			job:  job(finished(batchv1.JobComplete, "", "")),
			want: step{state: v1alpha1.StateCompleted, reason: "Completed", message: "Job flows-r completed", end: at(-2 * time.Second)}},
		{name: "Job failed: its condition's reason, and the log's tail", st: status(v1alpha1.StateRunning, func(s *v1alpha1.RunStatus) { s.StartTime = at(-40 * time.Second) }),
			job:  job(finished(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")),
			want: step{state: v1alpha1.StateFailed, reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", end: at(-time.Second), logTail: true}},
		{name: "Job failed: its newest failed pod's end is said too", st: status(v1alpha1.StateRunning, func(s *v1alpha1.RunStatus) { s.StartTime = at(-40 * time.Second) }),
			job: job(finished(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")),
			pods: []*corev1.Pod{
				pod("r-old", corev1.PodFailed, terminated(at(-50*time.Second), "Error", 1)),
				pod("r-new", corev1.PodFailed, terminated(at(-20*time.Second), "OOMKilled", 137)),
				pod("r-ok", corev1.PodSucceeded, terminated(at(-10*time.Second), "Completed", 0)),
			},
			want: step{state: v1alpha1.StateFailed, reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit; pod r-new: OOMKilled (exit 137)", end: at(-time.Second), logTail: true}},
		{name: "Job failed while its pod's end is not cached yet: waits for it, at most podEndGrace", st: status(v1alpha1.StateRunning, func(s *v1alpha1.RunStatus) { s.StartTime = at(-40 * time.Second) }),
			job:  job(finished(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")),
			pods: []*corev1.Pod{pod("r-1", corev1.PodRunning, nil)},
			want: step{requeue: podEndGrace - time.Second}},
		{name: "Job failed, its pod being deleted (a deadline): not waited for", st: status(v1alpha1.StateRunning, func(s *v1alpha1.RunStatus) { s.StartTime = at(-40 * time.Second) }),
			job:  job(finished(batchv1.JobFailed, "DeadlineExceeded", "Job was active longer than specified deadline")),
			pods: []*corev1.Pod{pod("r-1", corev1.PodRunning, func(p *corev1.Pod) { p.DeletionTimestamp = at(-time.Second) })},
			want: step{state: v1alpha1.StateFailed, reason: "DeadlineExceeded", message: "Job was active longer than specified deadline", end: at(-time.Second), logTail: true}},
		{name: "Job failed, its pod's end not seen within podEndGrace: settled without it", st: status(v1alpha1.StateRunning, func(s *v1alpha1.RunStatus) { s.StartTime = at(-40 * time.Second) }),
			job: job(func(j *batchv1.Job) {
				finished(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")(j)
				j.Status.Conditions[0].LastTransitionTime = *at(-podEndGrace - time.Second)
			}),
			pods: []*corev1.Pod{pod("r-1", corev1.PodRunning, nil)},
			want: step{state: v1alpha1.StateFailed, reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", end: at(-podEndGrace - time.Second), logTail: true}},
		{name: "a cancel comes before the Job's end", st: status(v1alpha1.StateRunning, nil), job: job(finished(batchv1.JobComplete, "", "")), cancel: "by request",
			want: step{state: v1alpha1.StateCancelling, reason: "CancelRequested", message: "deleting Job flows-r", deleteJob: true}},
		{name: "pod running: Running, from the pod's start, within the progress budget", st: status(v1alpha1.StatePending, nil), job: job(nil),
			pods: []*corev1.Pod{pod("r-1", corev1.PodRunning, func(p *corev1.Pod) { p.Status.StartTime = at(-3 * time.Second) })},
			want: step{state: v1alpha1.StateRunning, reason: "Started", message: "pod r-1 is running", start: at(-3 * time.Second), progress: true, since: now.Add(-3 * time.Second)}},
		{name: "pod succeeded before Running was written: Running, from now", st: status(v1alpha1.StatePending, nil), job: job(nil),
			pods: []*corev1.Pod{pod("r-1", corev1.PodSucceeded, nil)},
			want: step{state: v1alpha1.StateRunning, reason: "Started", message: "pod r-1 is running", start: at(0), progress: true, since: now}},
		{name: "already Running: nothing", st: status(v1alpha1.StateRunning, nil), job: job(nil), pods: []*corev1.Pod{pod("r-1", corev1.PodRunning, nil)}, want: step{}},
		{name: "Running, between pods: nothing", st: status(v1alpha1.StateRunning, nil), job: job(nil), want: step{}},
		{name: "new Job, no pod yet: Pending, Dispatched", st: status(v1alpha1.StateScheduled, nil), job: job(nil),
			want: step{state: v1alpha1.StatePending, reason: "Dispatched", message: "Job flows-r created; waiting for its pod to start", progress: true, since: admitted}},
		{name: "Pending and said so: nothing", st: status(v1alpha1.StatePending, func(s *v1alpha1.RunStatus) {
			s.Reason, s.Message = "Dispatched", "Job flows-r created; waiting for its pod to start"
		}), job: job(nil), want: step{}},
		{name: "pod stuck: Pending with its reason, looked at again when the timeout ends", st: status(v1alpha1.StatePending, nil), job: job(timeout("5m0s")), pods: []*corev1.Pod{pulling},
			want: step{state: v1alpha1.StatePending, reason: "ImagePullBackOff", message: "no such image", progress: true, since: admitted, requeue: 4 * time.Minute}},
		{name: "pod stuck past pod_watch_timeout_seconds: Crashed with its reason, Job deleted", st: status(v1alpha1.StatePending, nil), job: job(timeout("30s")), pods: []*corev1.Pod{pulling},
			want: step{state: v1alpha1.StateCrashed, reason: "ImagePullBackOff", message: "the pod did not start within pod_watch_timeout_seconds (30s): no such image", deleteJob: true, end: end, logTail: true}},
		{name: "no pod at all past the timeout: Crashed, and the Job's events are asked why", st: status(v1alpha1.StatePending, nil), job: job(timeout("30s")),
			want: step{state: v1alpha1.StateCrashed, reason: "PodNotStarted", message: "the pod did not start within pod_watch_timeout_seconds (30s): no pod started", deleteJob: true, end: end, logTail: true, whyNoPods: true}},
		{name: "a pod not stuck past the timeout: Crashed, PodNotStarted", st: status(v1alpha1.StatePending, nil), job: job(timeout("30s")), pods: []*corev1.Pod{pod("r-1", corev1.PodPending, nil)},
			want: step{state: v1alpha1.StateCrashed, reason: "PodNotStarted", message: "the pod did not start within pod_watch_timeout_seconds (30s): no pod started", deleteJob: true, end: end, logTail: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := nextState(tc.st, tc.job, tc.pods, tc.cancel, now)
			got.since = got.since.UTC() // decoded from the Job's annotation in the local zone
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestNextStateRetriesAndTimeout: how an attempt of a run with a retry
// policy ends (the next attempt awaited, or the run's end with the
// attempt recorded), and the run timeout counted from the pod's start.
func TestNextStateRetriesAndTimeout(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	policy := `{"attempts":3,"delay":"40s","on":["Crashed","Evicted"],"neverOnExitCodes":[3]}`
	job := func(name string, attempt string, edit func(*batchv1.Job)) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: *at(-time.Minute), Annotations: map[string]string{
			v1alpha1.AnnotationAdmission: `{"scheduledTime":"2026-12-03T11:58:00Z","admittedAt":"2026-12-03T11:59:00Z"}`,
			v1alpha1.AnnotationRetries:   policy, v1alpha1.AnnotationAttempt: attempt,
		}}}
		if edit != nil {
			edit(j)
		}
		return j
	}
	failed := func(reason, msg string) func(*batchv1.Job) {
		return func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastTransitionTime: *at(-time.Second)}}
		}
	}
	evictedRule := failed("PodFailurePolicy", "Pod ns/r-1 has condition DisruptionTarget matching FailJob rule at index 0")
	exitRule := failed("PodFailurePolicy", "Container flow for pod ns/r-1 failed with exit code 3 matching FailJob rule at index 1")
	backoff := failed("BackoffLimitExceeded", "Job has reached the specified backoff limit")
	withTimeout := func(d string) func(*batchv1.Job) {
		return func(j *batchv1.Job) { j.Annotations[v1alpha1.AnnotationTimeout] = d }
	}
	running := func(started time.Duration) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "r-1"}, Status: corev1.PodStatus{
			Phase: corev1.PodRunning, StartTime: at(started - 30*time.Second), // the pod's start counts its pull
			ContainerStatuses: []corev1.ContainerStatus{{Name: "flow", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: *at(started)}}}},
		}}
	}
	status := func(state v1alpha1.RunState, attempt int32) *v1alpha1.RunStatus {
		return &v1alpha1.RunStatus{State: state, JobName: "r", Attempt: attempt, MaxAttempts: 3, StartTime: at(-20 * time.Second), PendingTime: at(-time.Minute)}
	}
	rec := func(attempt int32, jobName, outcome, reason, msg string, exit *int32) *v1alpha1.AttemptStatus {
		return &v1alpha1.AttemptStatus{Attempt: attempt, JobName: jobName, Outcome: outcome, Reason: reason, Message: msg, ExitCode: exit,
			PendingTime: at(-time.Minute), StartTime: at(-20 * time.Second), EndTime: at(-time.Second)}
	}
	evictedMsg := "Pod ns/r-1 has condition DisruptionTarget matching FailJob rule at index 0"
	cases := []struct {
		name string
		st   *v1alpha1.RunStatus
		job  *batchv1.Job
		pods []*corev1.Pod
		want step
	}{
		{name: "evicted on attempt 1 of 3: the next awaited after the delay, the attempt recorded",
			st: status(v1alpha1.StateRunning, 1), job: job("r", "1", evictedRule),
			want: step{state: v1alpha1.StateScheduled, reason: v1alpha1.ReasonRetrying,
				message: "attempt 2 of 3 at 2026-12-03T12:00:39Z, after attempt 1 ended Evicted: " + evictedMsg,
				retryAt: at(39 * time.Second), logTail: true, attempt: rec(1, "r", v1alpha1.OutcomeEvicted, "Evicted", evictedMsg, nil)}},
		{name: "evicted on the last attempt: Crashed, reason Evicted",
			st: status(v1alpha1.StateRunning, 3), job: job("r-attempt-3", "3", evictedRule),
			want: step{state: v1alpha1.StateCrashed, reason: "Evicted", message: evictedMsg, end: at(-time.Second), logTail: true,
				attempt: rec(3, "r-attempt-3", v1alpha1.OutcomeEvicted, "Evicted", evictedMsg, nil)}},
		{name: "the flow failed, on does not list Failed: Failed, the attempt recorded",
			st: status(v1alpha1.StateRunning, 1), job: job("r", "1", backoff),
			want: step{state: v1alpha1.StateFailed, reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", end: at(-time.Second), logTail: true,
				attempt: rec(1, "r", v1alpha1.OutcomeFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit", nil)}},
		{name: "an exit code never retried: Failed",
			st: status(v1alpha1.StateRunning, 1), job: job("r", "1", exitRule),
			want: step{state: v1alpha1.StateFailed, reason: "PodFailurePolicy", message: "Container flow for pod ns/r-1 failed with exit code 3 matching FailJob rule at index 1", end: at(-time.Second), logTail: true,
				attempt: rec(1, "r", v1alpha1.OutcomeFailed, "PodFailurePolicy", "Container flow for pod ns/r-1 failed with exit code 3 matching FailJob rule at index 1", code(3))}},
		{name: "completed on attempt 2: Completed, the attempt recorded",
			st: status(v1alpha1.StateRunning, 2), job: job("r-attempt-2", "2", func(j *batchv1.Job) {
				j.Status.CompletionTime = at(-time.Second)
				j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
			}),
			want: step{state: v1alpha1.StateCompleted, reason: "Completed", message: "Job r-attempt-2 completed", end: at(-time.Second),
				attempt: rec(2, "r-attempt-2", v1alpha1.OutcomeCompleted, "Completed", "Job r-attempt-2 completed", nil)}},
		{name: "the Job vanished: Crashed, retried from the policy the status kept",
			st: func() *v1alpha1.RunStatus {
				s := status(v1alpha1.StateRunning, 1)
				s.Retries = &v1alpha1.RetryPolicy{Attempts: 3, On: []string{v1alpha1.OutcomeCrashed}}
				return s
			}(),
			want: step{state: v1alpha1.StateScheduled, reason: v1alpha1.ReasonRetrying,
				message: "attempt 2 of 3 at 2026-12-03T12:00:10Z, after attempt 1 ended Crashed: Job r disappeared while the run held it",
				retryAt: at(10 * time.Second),
				attempt: &v1alpha1.AttemptStatus{Attempt: 1, JobName: "r", Outcome: v1alpha1.OutcomeCrashed, Reason: "JobDeleted", Message: "Job r disappeared while the run held it",
					PendingTime: at(-time.Minute), StartTime: at(-20 * time.Second), EndTime: at(0)}}},
		{name: "running within its timeout: looked at again when it ends, counted from the container's start",
			st: status(v1alpha1.StateRunning, 1), job: job("r", "1", withTimeout("10s")), pods: []*corev1.Pod{running(-4 * time.Second)},
			want: step{requeue: 6 * time.Second}},
		{name: "pod just running with a timeout: Running from the container's start",
			st: &v1alpha1.RunStatus{State: v1alpha1.StatePending, JobName: "r"}, job: job("r", "1", withTimeout("10s")), pods: []*corev1.Pod{running(-4 * time.Second)},
			want: step{state: v1alpha1.StateRunning, reason: "Started", message: "pod r-1 is running", start: at(-4 * time.Second), progress: true, since: now.Add(-4 * time.Second), requeue: 6 * time.Second}},
		{name: "past its timeout: Failed TimedOut, its Job deleted; Failed is not retried here",
			st: status(v1alpha1.StateRunning, 1), job: job("r", "1", withTimeout("10s")), pods: []*corev1.Pod{running(-10 * time.Second)},
			want: step{state: v1alpha1.StateFailed, reason: ReasonTimedOut, deleteJob: true, logTail: true, end: at(0),
				message: "ran past its timeout of 10s, counted from its pod's start at 2026-12-03T11:59:50Z; its Job r was deleted",
				attempt: &v1alpha1.AttemptStatus{Attempt: 1, JobName: "r", Outcome: v1alpha1.OutcomeFailed, Reason: ReasonTimedOut,
					Message:     "ran past its timeout of 10s, counted from its pod's start at 2026-12-03T11:59:50Z; its Job r was deleted",
					PendingTime: at(-time.Minute), StartTime: at(-20 * time.Second), EndTime: at(0)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := nextState(tc.st, tc.job, tc.pods, "", now)
			got.since = got.since.UTC()
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
				if got.attempt != nil && tc.want.attempt != nil {
					t.Errorf("attempt\n got %+v\nwant %+v", *got.attempt, *tc.want.attempt)
				}
			}
		})
	}
}
