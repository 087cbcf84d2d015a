package planner

import (
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

func TestApplyRunPolicies(t *testing.T) {
	job := func(restart corev1.RestartPolicy) *batchv1.Job {
		six := int32(6)
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}, Spec: batchv1.JobSpec{
			BackoffLimit: &six,
			Template:     corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: restart}},
		}}
	}
	policy := &v1alpha1.RetryPolicy{Attempts: 3, NeverOnExitCodes: []int32{7, 2}}
	cases := []struct {
		name        string
		run         *project.CheckedRun
		restart     corev1.RestartPolicy
		attempt     int32
		annotations map[string]string
		backoff     int32
		rules       int
	}{
		{"no policies: the attempt only", &project.CheckedRun{}, corev1.RestartPolicyNever, 1,
			map[string]string{v1alpha1.AnnotationAttempt: "1"}, 6, 0},
		{"a timeout", &project.CheckedRun{Timeout: 90 * time.Second}, corev1.RestartPolicyNever, 1,
			map[string]string{v1alpha1.AnnotationAttempt: "1", v1alpha1.AnnotationTimeout: "1m30s"}, 6, 0},
		{"retries: backoffLimit 0, disruption and exit-code rules", &project.CheckedRun{Retries: policy}, corev1.RestartPolicyNever, 2,
			map[string]string{v1alpha1.AnnotationAttempt: "2", v1alpha1.AnnotationRetries: `{"attempts":3,"neverOnExitCodes":[7,2]}`}, 0, 2},
		{"retries with backoff_limit set by a job variable: kept", &project.CheckedRun{Retries: policy, JobVariables: map[string]any{"backoff_limit": 6}}, corev1.RestartPolicyNever, 1,
			map[string]string{v1alpha1.AnnotationAttempt: "1", v1alpha1.AnnotationRetries: `{"attempts":3,"neverOnExitCodes":[7,2]}`}, 6, 2},
		{"retries, restartPolicy OnFailure: no podFailurePolicy", &project.CheckedRun{Retries: &v1alpha1.RetryPolicy{Attempts: 2}}, corev1.RestartPolicyOnFailure, 1,
			map[string]string{v1alpha1.AnnotationAttempt: "1", v1alpha1.AnnotationRetries: `{"attempts":2}`}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := job(tc.restart)
			if err := applyRunPolicies(j, tc.run, tc.attempt); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(j.Annotations, tc.annotations) {
				t.Errorf("annotations %v, want %v", j.Annotations, tc.annotations)
			}
			if *j.Spec.BackoffLimit != tc.backoff {
				t.Errorf("backoffLimit %d, want %d", *j.Spec.BackoffLimit, tc.backoff)
			}
			var rules []batchv1.PodFailurePolicyRule
			if j.Spec.PodFailurePolicy != nil {
				rules = j.Spec.PodFailurePolicy.Rules
			}
			if len(rules) != tc.rules {
				t.Fatalf("%d podFailurePolicy rules, want %d", len(rules), tc.rules)
			}
			if tc.rules == 2 {
				if c := rules[RuleDisruption].OnPodConditions; len(c) != 1 || c[0].Type != corev1.DisruptionTarget {
					t.Errorf("rule %d: %+v, want DisruptionTarget", RuleDisruption, rules[RuleDisruption])
				}
				if e := rules[RuleExitCodes].OnExitCodes; e == nil || !reflect.DeepEqual(e.Values, []int32{2, 7}) {
					t.Errorf("rule %d: %+v, want exit codes 2, 7 in order", RuleExitCodes, rules[RuleExitCodes])
				}
			}
		})
	}
}
