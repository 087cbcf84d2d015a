package podstatus

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func waiting(reason, msg string) corev1.ContainerStatus {
	return corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
}

func TestStuckAndSummary(t *testing.T) {
	unsched := []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available"}}
	for _, tc := range []struct {
		name            string
		pod             corev1.PodStatus
		reason, message string
		summary         string
	}{
		{"nothing yet", corev1.PodStatus{}, "", "", "-"},
		{"creating is normal", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("ContainerCreating", "")}}, "", "", "ContainerCreating"},
		{"image pull", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("ImagePullBackOff", " Back-off pulling image ")}},
			"ImagePullBackOff", "Back-off pulling image", "ImagePullBackOff  Back-off pulling image"},
		{"init container first", corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{waiting("CreateContainerConfigError", "secret x not found")},
			ContainerStatuses:     []corev1.ContainerStatus{waiting("PodInitializing", "")},
		}, "CreateContainerConfigError", "secret x not found", "CreateContainerConfigError secret x not found"},
		{"unschedulable", corev1.PodStatus{Conditions: unsched}, "Unschedulable", "0/1 nodes are available", "Unschedulable: 0/1 nodes are available"},
		{"terminated", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 2}}}}},
			"", "", "Error (exit 2)"},
		{"evicted", corev1.PodStatus{Reason: "Evicted"}, "", "", "Evicted"},
	} {
		p := &corev1.Pod{Status: tc.pod}
		if r, m := Stuck(p); r != tc.reason || m != tc.message {
			t.Errorf("%s: Stuck = %q, %q; want %q, %q", tc.name, r, m, tc.reason, tc.message)
		}
		if s := Summary(p); s != tc.summary {
			t.Errorf("%s: Summary = %q; want %q", tc.name, s, tc.summary)
		}
	}
}
