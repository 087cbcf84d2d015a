package reconciler

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// maxParentDepth bounds how far up a chain of parents a cancellation is
// looked for. A parent must exist before its child names its UID, so a
// chain has no cycle; the bound only caps the work of a very deep one.
const maxParentDepth = 16

// parentSeen reads from the caches what plan needs to know of a run named
// as a parent (see parentVerdict).
func (c *Controller) parentSeen(cfg *project.Installed, ref *v1alpha1.RunRef) planner.ParentSeen {
	var p planner.ParentSeen
	if cm, err := c.runs.Get(ref.Run); err == nil {
		p.Run, p.State = cm, c.state.stateOf(cm)
		if pr := c.parsed.Get(cm); pr.Request != nil {
			p.Deployment = pr.Request.Deployment
			if d := cfg.Deployments[pr.Request.Deployment]; d != nil {
				p.Starts = &d.Deployment
			}
		}
	}
	return p
}

// cancelledParent names the run's parent (or an ancestor) when it is
// being cancelled or was: the run is then cancelled with it, through the
// same path as a cancel request. "" otherwise, and when the parent named
// is not there under its UID.
func (c *Controller) cancelledParent(cm *corev1.ConfigMap, depth int) string {
	if depth <= 0 {
		return ""
	}
	pr := c.parsed.Get(cm)
	if pr.Request == nil || pr.Request.Parent == nil {
		return ""
	}
	parent, err := c.runs.Get(pr.Request.Parent.Run)
	if err != nil || !pr.Request.Parent.Is(parent) {
		return ""
	}
	switch state := c.state.stateOf(parent); {
	case state == v1alpha1.StateCancelling || state == v1alpha1.StateCancelled:
		return parent.Name
	case state.Final():
		return ""
	}
	if c.ownCancelRequested(parent) || c.cancelledParent(parent, depth-1) != "" {
		return parent.Name
	}
	return ""
}

// queueChildren queues the unfinished children of a run that is being
// cancelled, so they follow it at once. Cancellations are rare, so the
// unfinished runs are scanned rather than indexed: an index would decode
// every run's request on each of its status writes. A reconciler that
// starts syncs every unfinished run anyway, which finds a cancelled
// parent then.
func (c *Controller) queueChildren(parent *corev1.ConfigMap) {
	for _, state := range []v1alpha1.RunState{"", v1alpha1.StateScheduled, v1alpha1.StatePending, v1alpha1.StateRunning, v1alpha1.StateCancelling} {
		for _, cm := range byIndex[*corev1.ConfigMap](c.runIndex, runsByStateIndex, string(state)) {
			if pr := c.parsed.Get(cm); pr.Request != nil && pr.Request.Parent.Is(parent) {
				c.queue.Add(cm.Name)
			}
		}
	}
}
