package planner

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// ReasonInvalidParent rejects a run whose parent (RunRequest.Parent) the
// reconciler cannot accept.
const ReasonInvalidParent = "InvalidParent"

// ParentSeen is what the reconciler knows of a run named as a parent.
type ParentSeen struct {
	Run        *corev1.ConfigMap    // nil: no run of that name
	State      v1alpha1.RunState    // its verified state
	Deployment string               // its deployment, "" when its request does not decode
	Starts     *v1alpha1.Deployment // that deployment's config, nil when not installed
}

// parentVerdict accepts a run's parent only if the run of that name and
// UID exists in the namespace, has not ended, and its deployment's starts
// lists this run's deployment. Whoever may create a ConfigMap may write
// any parent, and a run's parent decides only what happens to that run
// (it is cancelled with its parent, and shown as its child), so a false
// parent can harm no one else's run; the check keeps the tree the CLI and
// dashboard show to children a parent's deployment may really start.
func parentVerdict(req *v1alpha1.RunRequest, p ParentSeen) *Rejection {
	ref := req.Parent
	switch {
	case ref == nil:
		return nil
	case p.Run == nil || !ref.Is(p.Run):
		return &Rejection{ReasonInvalidParent, fmt.Sprintf("parent run %s (uid %s) does not exist in this namespace", ref.Run, v1alpha1.Truncate(string(ref.RunUID), 64))}
	case p.State.Final():
		return &Rejection{ReasonInvalidParent, fmt.Sprintf("parent run %s has already ended (%s)", ref.Run, p.State)}
	case p.Deployment == "":
		return &Rejection{ReasonInvalidParent, fmt.Sprintf("parent run %s is not a valid run request", ref.Run)}
	case p.Starts == nil || !p.Starts.MayStart(req.Deployment):
		return &Rejection{ReasonInvalidParent, fmt.Sprintf("parent run %s is of deployment %s, whose starts does not list %s", ref.Run, p.Deployment, req.Deployment)}
	}
	return nil
}
