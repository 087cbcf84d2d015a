package reconciler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// ReasonInvalidParent rejects a run whose parent (RunRequest.Parent) the
// reconciler cannot accept.
const ReasonInvalidParent = "InvalidParent"

// maxParentDepth bounds how far up a chain of parents a cancellation is
// looked for. A parent must exist before its child names its UID, so a
// chain has no cycle; the bound only caps the work of a very deep one.
const maxParentDepth = 16

// parentSeen reads from the caches what plan needs to know of a run named
// as a parent (see parentVerdict).
func (c *Controller) parentSeen(cfg *project.Installed, ref *v1alpha1.RunRef) parentSeen {
	var p parentSeen
	if cm, err := c.runs.Get(ref.Run); err == nil {
		p.run, p.state = cm, c.state.stateOf(cm)
		if pr := c.parsed.get(cm); pr.req != nil {
			p.deployment = pr.req.Deployment
			if d := cfg.Deployments[pr.req.Deployment]; d != nil {
				p.starts = &d.Deployment
			}
		}
	}
	return p
}

// parentSeen is what the reconciler knows of a run named as a parent.
type parentSeen struct {
	run        *corev1.ConfigMap    // nil: no run of that name
	state      v1alpha1.RunState    // its verified state
	deployment string               // its deployment, "" when its request does not decode
	starts     *v1alpha1.Deployment // that deployment's config, nil when not installed
}

// parentVerdict accepts a run's parent only if the run of that name and
// UID exists in the namespace, has not ended, and its deployment's starts
// lists this run's deployment. Whoever may create a ConfigMap may write
// any parent, and a run's parent decides only what happens to that run
// (it is cancelled with its parent, and shown as its child), so a false
// parent can harm no one else's run; the check keeps the tree the CLI and
// dashboard show to children a parent's deployment may really start.
func parentVerdict(req *v1alpha1.RunRequest, p parentSeen) *rejection {
	ref := req.Parent
	switch {
	case ref == nil:
		return nil
	case p.run == nil || !ref.Is(p.run):
		return &rejection{ReasonInvalidParent, fmt.Sprintf("parent run %s (uid %s) does not exist in this namespace", ref.Run, v1alpha1.Truncate(string(ref.RunUID), 64))}
	case p.state.Final():
		return &rejection{ReasonInvalidParent, fmt.Sprintf("parent run %s has already ended (%s)", ref.Run, p.state)}
	case p.deployment == "":
		return &rejection{ReasonInvalidParent, fmt.Sprintf("parent run %s is not a valid run request", ref.Run)}
	case p.starts == nil || !p.starts.MayStart(req.Deployment):
		return &rejection{ReasonInvalidParent, fmt.Sprintf("parent run %s is of deployment %s, whose starts does not list %s", ref.Run, p.deployment, req.Deployment)}
	}
	return nil
}

// cancelledParent names the run's parent (or an ancestor) when it is
// being cancelled or was: the run is then cancelled with it, through the
// same path as a cancel request. "" otherwise, and when the parent named
// is not there under its UID.
func (c *Controller) cancelledParent(cm *corev1.ConfigMap, depth int) string {
	if depth <= 0 {
		return ""
	}
	pr := c.parsed.get(cm)
	if pr.req == nil || pr.req.Parent == nil {
		return ""
	}
	parent, err := c.runs.Get(pr.req.Parent.Run)
	if err != nil || !pr.req.Parent.Is(parent) {
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
			if pr := c.parsed.get(cm); pr.req != nil && pr.req.Parent.Is(parent) {
				c.queue.Add(cm.Name)
			}
		}
	}
}
