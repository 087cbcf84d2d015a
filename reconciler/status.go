package reconciler

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// maxMessageBytes bounds a status message: messages may echo input.
const maxMessageBytes = 2048

// setState moves a status to a state and keeps its conditions in step,
// with Flux's condition types so tools that read Flux objects read runs:
// Ready (True when Completed, False when it ended otherwise, Unknown while
// in flight), Reconciling while in flight, Stalled when it can never run.
func setState(st *v1alpha1.RunStatus, state v1alpha1.RunState, reason, msg string, now time.Time) {
	msg = v1alpha1.Truncate(msg, maxMessageBytes)
	st.State, st.Reason, st.Message = state, reason, msg
	t := metav1.NewTime(now.Truncate(time.Second))
	set := func(typ string, status metav1.ConditionStatus, reason string) {
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: t,
		})
	}
	switch {
	case state == v1alpha1.StateCompleted:
		set(meta.ReadyCondition, metav1.ConditionTrue, meta.SucceededReason)
		apimeta.RemoveStatusCondition(&st.Conditions, meta.ReconcilingCondition)
	case state == v1alpha1.StateRejected:
		set(meta.ReadyCondition, metav1.ConditionFalse, reason)
		set(meta.StalledCondition, metav1.ConditionTrue, reason)
		apimeta.RemoveStatusCondition(&st.Conditions, meta.ReconcilingCondition)
	case state.Final():
		set(meta.ReadyCondition, metav1.ConditionFalse, reason)
		apimeta.RemoveStatusCondition(&st.Conditions, meta.ReconcilingCondition)
	default:
		set(meta.ReadyCondition, metav1.ConditionUnknown, meta.ProgressingReason)
		set(meta.ReconcilingCondition, metav1.ConditionTrue, reason)
	}
}

// writeStatus writes a run's status, its signature and its selector
// labels in one merge patch. The patch carries the cached resourceVersion:
// if anyone changed the run since, it fails with a conflict and the caller
// retries on fresh state. A patch, not an update, so that data the cache
// dropped (trimRun) is left as it is. The selector labels are the
// reconciler's: any value a submitter gave them at creation is replaced,
// or removed. A final state carries its end time as LabelEnded, for
// clients that list only the newest finished runs.
func (c *Controller) writeStatus(ctx context.Context, cm *corev1.ConfigMap, st *v1alpha1.RunStatus) (*corev1.ConfigMap, error) {
	c.notify.recordFinal(cm, st)
	data, err := v1alpha1.EncodeRunStatus(st)
	if err != nil {
		return nil, err
	}
	labels := map[string]any{
		v1alpha1.LabelState:      string(st.State),
		v1alpha1.LabelDeployment: nil,
		v1alpha1.LabelFlow:       nil,
		v1alpha1.LabelPool:       nil,
		v1alpha1.LabelQueue:      nil,
		v1alpha1.LabelEnded:      nil,
	}
	if st.State.Final() {
		// In the final state's own write: never a write of its own.
		end := c.opts.Now()
		if st.EndTime != nil {
			end = st.EndTime.Time
		}
		labels[v1alpha1.LabelEnded] = v1alpha1.EndedLabelValue(end)
	}
	if req := c.parsed.Get(cm).Request; req != nil {
		flow, name, _ := v1alpha1.SplitDeployment(req.Deployment)
		if v := v1alpha1.DeploymentLabelValue(flow, name); len(validation.IsValidLabelValue(v)) == 0 {
			labels[v1alpha1.LabelDeployment] = v
		}
		labels[v1alpha1.LabelFlow] = flow
	}
	if st.Pool != "" {
		labels[v1alpha1.LabelPool], labels[v1alpha1.LabelQueue] = st.Pool, st.Queue
	}
	patch := map[string]any{"metadata": map[string]any{"resourceVersion": cm.ResourceVersion, "labels": labels}}
	signed := data
	if cm.Immutable != nil && *cm.Immutable {
		// Its data cannot be written: the state and the signature (of no
		// status, as the cache holds none: trimRun) say it all, with the
		// run's Event.
		signed = ""
	} else {
		patch["data"] = map[string]string{v1alpha1.KeyStatus: data}
	}
	patch["metadata"].(map[string]any)["annotations"] = map[string]string{v1alpha1.AnnotationSignature: c.state.sign(cm.UID, st.State, signed)}
	body, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	updated, err := c.client.CoreV1().ConfigMaps(c.opts.Namespace).Patch(ctx, cm.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "flows-reconciler"})
	c.wrote("status", start)
	if err == nil {
		c.metrics.StateWrites.WithLabelValues(string(st.State)).Inc()
		c.exp.replaced(cm.Name, cm.ResourceVersion)
		c.refusals.forget(cm.UID)
	} else if refused(err) {
		c.refusals.add(cm.UID, c.opts.Now())
		c.log.Error("the API server refuses this run's status; backing off", "run", cm.Name, "err", v1alpha1.Truncate(err.Error(), 512))
	}
	return updated, err
}

// jobFinished returns "Complete" or "Failed" once the Job controller has
// said so, else "".
func jobFinished(job *batchv1.Job) batchv1.JobConditionType {
	for _, cond := range job.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			continue
		}
		switch cond.Type {
		case batchv1.JobComplete, batchv1.JobFailed:
			return cond.Type
		}
	}
	return ""
}

func jobCondition(job *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == typ {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// wrote records how long one of the reconciler's writes took.
func (c *Controller) wrote(what string, start time.Time) {
	now := time.Now()
	c.load.observe(now.Sub(start), now)
	c.metrics.WriteSeconds.WithLabelValues(what).Observe(now.Sub(start).Seconds())
}
