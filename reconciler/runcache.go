package reconciler

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// attemptOf is a run's attempt (see planner.RunCache.Attempt), given the state
// the reconciler verified it in: a new run, or one whose stored state is
// not the reconciler's, is at its first.
func (c *Controller) attemptOf(cm *corev1.ConfigMap, state v1alpha1.RunState) (int32, time.Time) {
	if state == "" {
		return 1, time.Time{}
	}
	return c.parsed.Attempt(cm)
}

// runStatus is a run's status for its sync to change: the one the
// reconciler wrote, or an empty one where what is stored is not its own.
func (c *Controller) runStatus(cm *corev1.ConfigMap) *v1alpha1.RunStatus {
	if !c.state.trusted(cm) {
		return &v1alpha1.RunStatus{}
	}
	return c.parsed.Status(cm)
}

// deploymentOf is the deployment (flow/name) a run's request names, ""
// when its request does not decode.
func (c *Controller) deploymentOf(cm *corev1.ConfigMap) string {
	if req := c.parsed.Get(cm).Request; req != nil {
		return req.Deployment
	}
	return ""
}
