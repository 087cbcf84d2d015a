package render

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// Names of the Roles render writes for the people who use a project.
const (
	SubmitterRole = "flows-submitter"
	ViewerRole    = "flows-viewer"
)

// readRuns is what anyone following runs needs: the run ConfigMaps, their
// Jobs, pods, logs and events. get/list/watch only.
func readRuns() []rbacv1.PolicyRule {
	read := []string{"get", "list", "watch"}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: read},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: read},
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "events"}, Verbs: read},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: read},
	}
}

// userRoles are the Roles of the two kinds of principals besides the
// operators (who change config through git and need no Role from us):
//
//   - flows-submitter may create ConfigMaps (a run request, or a cancel
//     request: see v1alpha1.NewCancelRequest) and read runs. It may never
//     update, patch or delete a ConfigMap, so it cannot edit a run's
//     status, another run, or any config; that is why cancelling is a new
//     object rather than an edit of the run.
//   - flows-viewer reads and nothing more.
//
// No RoleBindings: who is a submitter is the operator's decision (see
// docs/security.md for an example binding).
func userRoles(p *project.Project) []any {
	submitter := readRuns()
	submitter[0].Verbs = []string{"create", "get", "list", "watch"}
	role := func(name, component string, rules []rbacv1.PolicyRule) *rbacv1.Role {
		return &rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: objectMeta(p, name, map[string]string{"app.kubernetes.io/component": component}),
			Rules:      rules,
		}
	}
	return []any{
		role(SubmitterRole, "submitter", submitter),
		role(ViewerRole, "viewer", readRuns()),
	}
}
