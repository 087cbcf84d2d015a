package reconciler

import (
	"context"
	"encoding/json"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// jobKeyPrefix marks a workqueue key naming a Job whose finalizer may be
// due for removal; a run's name cannot hold a slash.
const jobKeyPrefix = "job/"

// releaseJob queues the removal of the finalizers of a run's Jobs marked
// for deletion whose attempt the run's status has recorded: its final
// state is written, or it has moved on to a later attempt. state is the
// run's verified state.
func (c *Controller) releaseJob(cm *corev1.ConfigMap, state v1alpha1.RunState) {
	attempt, _ := c.attemptOf(cm, state)
	for a := int32(1); a <= attempt; a++ {
		if j := c.jobNamed(v1alpha1.AttemptJobName(cm.Name, a)); j != nil && j.DeletionTimestamp != nil && hasFinalizer(j) {
			c.queue.Add(jobKeyPrefix + j.Name)
		}
	}
}

// syncJob removes the run's finalizer (v1alpha1.FinalizerRunProtection)
// from a Job marked for deletion once its run has ended (its final state,
// signed, in the cache) or is gone. Until then the run's sync ends the run
// (Crashed, Cancelled or its Job's outcome).
func (c *Controller) syncJob(ctx context.Context, name string) error {
	job, err := c.jobs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if job.DeletionTimestamp == nil || !hasFinalizer(job) {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(job); ref != nil {
		if cm, err := c.runs.Get(ref.Name); err == nil && cm.UID == ref.UID && !c.jobRecorded(cm, job) {
			c.queue.Add(cm.Name) // its sync ends it, and its final state brings us back
			return nil
		}
	}
	return c.removeFinalizer(ctx, name, job.UID, job.ResourceVersion, job.Finalizers)
}

// jobRecorded reports whether a run's status has recorded how its Job's
// attempt ended: the run has ended, or moved on to a later attempt.
func (c *Controller) jobRecorded(cm *corev1.ConfigMap, job *batchv1.Job) bool {
	state := c.state.stateOf(cm)
	if state.Final() {
		return true
	}
	current, _ := c.attemptOf(cm, state)
	return attemptOfJob(job) < current
}

// removeFinalizer drops the run's finalizer, under its name or the one an
// older reconciler gave (v1alpha1.LegacyFinalizerRun), with a patch that
// fails if the Job changed meanwhile (its resourceVersion and UID).
func (c *Controller) removeFinalizer(ctx context.Context, name string, uid types.UID, rv string, finalizers []string) error {
	keep := make([]string, 0, len(finalizers))
	for _, f := range finalizers {
		if !isRunFinalizer(f) {
			keep = append(keep, f)
		}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers": keep, "resourceVersion": rv, "uid": uid,
	}})
	if err != nil {
		return err
	}
	_, err = c.client.BatchV1().Jobs(c.opts.Namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "flows-reconciler"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func isJobKey(key string) (string, bool) {
	return strings.CutPrefix(key, jobKeyPrefix)
}
