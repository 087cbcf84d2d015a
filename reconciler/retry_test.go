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

func code(c int32) *int32 { return &c }

func TestRetryDecision(t *testing.T) {
	ended := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	dur := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	factor := func(f float64) *float64 { return &f }
	all := &v1alpha1.RetryPolicy{Attempts: 3, Delay: dur(40 * time.Second)}
	growing := &v1alpha1.RetryPolicy{Attempts: 5, Delay: dur(10 * time.Second), Backoff: factor(3), MaxDelay: dur(time.Minute)}
	crashOnly := &v1alpha1.RetryPolicy{Attempts: 3, On: []string{v1alpha1.OutcomeCrashed}}
	never := &v1alpha1.RetryPolicy{Attempts: 3, Delay: dur(0), NeverOnExitCodes: []int32{2, 3}}
	cases := []struct {
		name    string
		o       outcome
		p       *v1alpha1.RetryPolicy
		attempt int32
		retry   bool
		at      time.Time
	}{
		{"no policy: never", outcome{kind: v1alpha1.OutcomeEvicted}, nil, 1, false, time.Time{}},
		{"completed: never", outcome{kind: v1alpha1.OutcomeCompleted}, all, 1, false, time.Time{}},
		{"evicted, first attempt: after the delay", outcome{kind: v1alpha1.OutcomeEvicted}, all, 1, true, ended.Add(40 * time.Second)},
		{"failed, second of three: after the delay", outcome{kind: v1alpha1.OutcomeFailed}, all, 2, true, ended.Add(40 * time.Second)},
		{"the last attempt: never", outcome{kind: v1alpha1.OutcomeCrashed}, all, 3, false, time.Time{}},
		{"past the last attempt (policy lowered): never", outcome{kind: v1alpha1.OutcomeCrashed}, all, 4, false, time.Time{}},
		{"crashed, on lists Crashed", outcome{kind: v1alpha1.OutcomeCrashed}, crashOnly, 1, true, ended.Add(v1alpha1.DefaultRetryDelay)},
		{"evicted, on lists only Crashed: never", outcome{kind: v1alpha1.OutcomeEvicted}, crashOnly, 1, false, time.Time{}},
		{"failed, on lists only Crashed: never", outcome{kind: v1alpha1.OutcomeFailed}, crashOnly, 1, false, time.Time{}},
		{"exit code never retried", outcome{kind: v1alpha1.OutcomeFailed, exitCode: code(3)}, never, 1, false, time.Time{}},
		{"another exit code is", outcome{kind: v1alpha1.OutcomeFailed, exitCode: code(1)}, never, 1, true, ended},
		{"exit code 137 of an eviction is not the flow's", outcome{kind: v1alpha1.OutcomeEvicted, exitCode: code(2)}, never, 1, true, ended},
		{"backoff: the first delay", outcome{kind: v1alpha1.OutcomeFailed}, growing, 1, true, ended.Add(10 * time.Second)},
		{"backoff: ×3 after the second", outcome{kind: v1alpha1.OutcomeFailed}, growing, 2, true, ended.Add(30 * time.Second)},
		{"backoff: capped by maxDelay", outcome{kind: v1alpha1.OutcomeFailed}, growing, 3, true, ended.Add(time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			retry, at := retryDecision(tc.o, tc.p, tc.attempt, ended)
			if retry != tc.retry || !at.Equal(tc.at) {
				t.Errorf("retryDecision = %v, %v; want %v, %v", retry, at, tc.retry, tc.at)
			}
		})
	}
}

func TestFailedOutcome(t *testing.T) {
	failedPod := func(name string, exit int32, conds ...corev1.PodCondition) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{
			Phase: corev1.PodFailed, Conditions: conds,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "flow", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit}}}},
		}}
	}
	disruption := func(reason string) corev1.PodCondition {
		return corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reason, Message: "by " + reason}
	}
	cond := func(reason, msg string) *batchv1.JobCondition {
		return &batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: msg}
	}
	cases := []struct {
		name string
		cond *batchv1.JobCondition
		pods []*corev1.Pod
		want outcome
	}{
		{"the disruption rule, the evicted pod kept",
			cond("PodFailurePolicy", "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0"),
			[]*corev1.Pod{failedPod("p", 137, disruption("EvictionByEvictionAPI"))},
			outcome{kind: v1alpha1.OutcomeEvicted, reason: "Evicted", message: "pod p: EvictionByEvictionAPI: by EvictionByEvictionAPI"}},
		{"the disruption rule, the pod gone: the Job's message",
			cond("PodFailurePolicy", "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0"), nil,
			outcome{kind: v1alpha1.OutcomeEvicted, reason: "Evicted", message: "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0"}},
		{"a disrupted pod whose node went away: Crashed",
			cond("PodFailurePolicy", "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0"),
			[]*corev1.Pod{failedPod("p", 137, disruption("DeletionByPodGC"))},
			outcome{kind: v1alpha1.OutcomeCrashed, reason: "NodeLost", message: "pod p: DeletionByPodGC: by DeletionByPodGC"}},
		{"the exit-code rule: Failed with the code",
			cond("PodFailurePolicy", "Container flow for pod ns/p failed with exit code 3 matching FailJob rule at index 1"),
			[]*corev1.Pod{failedPod("p", 3)},
			outcome{kind: v1alpha1.OutcomeFailed, reason: "PodFailurePolicy", message: "Container flow for pod ns/p failed with exit code 3 matching FailJob rule at index 1", exitCode: code(3)}},
		{"the exit-code rule, the pod gone: the code from the message",
			cond("PodFailurePolicy", "Container flow for pod ns/p failed with exit code 3 matching FailJob rule at index 1"), nil,
			outcome{kind: v1alpha1.OutcomeFailed, reason: "PodFailurePolicy", message: "Container flow for pod ns/p failed with exit code 3 matching FailJob rule at index 1", exitCode: code(3)}},
		{"the flow failed (backoff limit)",
			cond("BackoffLimitExceeded", "Job has reached the specified backoff limit"), []*corev1.Pod{failedPod("p", 1)},
			outcome{kind: v1alpha1.OutcomeFailed, reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", exitCode: code(1)}},
		{"no podFailurePolicy (restartPolicy OnFailure): the disrupted pod says it",
			cond("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
			[]*corev1.Pod{failedPod("p", 137, disruption("PreemptionByScheduler"))},
			outcome{kind: v1alpha1.OutcomeEvicted, reason: "Evicted", message: "pod p: PreemptionByScheduler: by PreemptionByScheduler"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := failedOutcome(tc.cond, tc.pods); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestAttemptJobName(t *testing.T) {
	long := "etl-daily-abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij-1764756000"
	cases := []struct {
		run     string
		attempt int32
		want    string
	}{
		{"hello-default-x7k2p", 1, "hello-default-x7k2p"},
		{"hello-default-x7k2p", 0, "hello-default-x7k2p"},
		{"hello-default-x7k2p", 2, "hello-default-x7k2p-attempt-2"},
		{"hello-default-x7k2p", 12, "hello-default-x7k2p-attempt-12"},
		{long, 1, v1alpha1.JobName(long)},
		{long, 2, v1alpha1.JobName(long + "-attempt-2")},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		got := v1alpha1.AttemptJobName(tc.run, tc.attempt)
		if got != tc.want {
			t.Errorf("AttemptJobName(%q, %d) = %q, want %q", tc.run, tc.attempt, got, tc.want)
		}
		if len(got) > 63 {
			t.Errorf("AttemptJobName(%q, %d) = %q: longer than a label value", tc.run, tc.attempt, got)
		}
		if tc.attempt != 0 {
			if seen[got] {
				t.Errorf("AttemptJobName(%q, %d) = %q: given to another attempt too", tc.run, tc.attempt, got)
			}
			seen[got] = true
		}
	}
}
