// Package podstatus reads why a run's pod is where it is, for the
// reconciler (which fails a run whose pod stays stuck) and for describe
// (which shows it). Both read the same container states and the same
// scheduling condition, in the same order, through this package.
package podstatus

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// containers are the pod's init container statuses, then its app
// containers': the order in which they run.
func containers(p *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
}

// unschedulable is the scheduler's reason when it could not place the pod.
func unschedulable(p *corev1.Pod) (reason, message string, ok bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return c.Reason, c.Message, true
		}
	}
	return "", "", false
}

// Stuck says why a pod cannot progress: the first container waiting for a
// reason other than the normal ContainerCreating and PodInitializing (an
// ImagePullBackOff, a CreateContainerConfigError), else the scheduler's
// reason when it could not place the pod. Both are empty when it is not
// stuck.
func Stuck(p *corev1.Pod) (reason, message string) {
	for _, cs := range containers(p) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			return w.Reason, strings.TrimSpace(w.Message)
		}
	}
	if r, m, ok := unschedulable(p); ok {
		return r, m
	}
	return "", ""
}

// Summary is one line on where a pod is: the first container that waits
// (with its reason) or has terminated (with its exit code), else why it
// is not scheduled, else the pod's own reason; "-" when there is none.
func Summary(p *corev1.Pod) string {
	for _, cs := range containers(p) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return strings.TrimSpace(w.Reason + " " + w.Message)
		}
		if t := cs.State.Terminated; t != nil {
			reason := t.Reason
			if reason == "" {
				reason = "<none>"
			}
			return fmt.Sprintf("%s (exit %d)", reason, t.ExitCode)
		}
	}
	if r, m, ok := unschedulable(p); ok {
		return strings.TrimSpace(r + ": " + m)
	}
	if p.Status.Reason != "" {
		return p.Status.Reason
	}
	return "-"
}
