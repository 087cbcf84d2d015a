package reconciler

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// setState moves a status to a state and keeps its conditions in step,
// with Flux's condition types so tools that read Flux objects read runs:
// Ready (True when Completed, False when it ended otherwise, Unknown while
// in flight), Reconciling while in flight, Stalled when it can never run.
func setState(st *project.RunStatus, state project.RunState, reason, msg string, now time.Time) {
	st.State, st.Reason, st.Message = state, reason, msg
	t := metav1.NewTime(now.Truncate(time.Second))
	set := func(typ string, status metav1.ConditionStatus, reason string) {
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: t,
		})
	}
	switch {
	case state == project.StateCompleted:
		set(meta.ReadyCondition, metav1.ConditionTrue, meta.SucceededReason)
		apimeta.RemoveStatusCondition(&st.Conditions, meta.ReconcilingCondition)
	case state == project.StateRejected:
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

// writeStatus writes a run's status and its selector labels in one update.
// The update carries the cached resourceVersion: if anyone changed the run
// since, it fails with a conflict and the caller retries on fresh state.
func (c *Controller) writeStatus(ctx context.Context, cm *corev1.ConfigMap, st *project.RunStatus) (*corev1.ConfigMap, error) {
	data, err := project.EncodeRunStatus(st)
	if err != nil {
		return nil, err
	}
	cm = cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[project.KeyStatus] = data
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[project.LabelState] = string(st.State)
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[AnnotationSignature] = c.state.sign(cm.UID, st.State, data)
	if req := c.parsed.get(cm).req; req != nil {
		flow, name, _ := project.SplitDeployment(req.Deployment)
		cm.Labels[project.LabelDeployment] = project.DeploymentLabelValue(flow, name)
		cm.Labels[project.LabelFlow] = flow
	}
	if st.Pool != "" {
		cm.Labels[project.LabelPool] = st.Pool
		cm.Labels[project.LabelQueue] = st.Queue
	}
	start := time.Now()
	updated, err := c.client.CoreV1().ConfigMaps(c.opts.Namespace).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "flows-reconciler"})
	c.wrote("status", start)
	if err == nil {
		c.metrics.StateWrites.WithLabelValues(string(st.State)).Inc()
		c.exp.replaced(cm.Name, cm.ResourceVersion)
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
