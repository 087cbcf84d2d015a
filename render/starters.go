package render

import (
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// StartersFile holds the ServiceAccount, Role and RoleBinding of each
// deployment that starts runs (v1alpha1.Deployment.Starts).
const StartersFile = "starters.yaml"

// starterRules are what `kubectl flows run other/deploy --wait` needs from
// inside a pod, and nothing more: create the run (and, to stop it, a
// cancel request; both are ConfigMaps, which RBAC cannot tell apart), and
// read ConfigMaps to find the installed deployment, the parent run and to
// follow the child's state. No update, patch or delete, so the pod can
// change no run and no config; no Jobs, pods or logs.
func starterRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "get", "list", "watch"}},
	}
}

// starterObjects are, for each deployment with starts, in the order of
// their names: a ServiceAccount its Jobs run as
// (v1alpha1.StarterServiceAccountName, given through the
// service_account_name job variable) and a Role with starterRules bound to
// it. Nil when no deployment starts runs.
func starterObjects(p *project.Project) []any {
	var ds []*v1alpha1.Deployment
	for i := range p.Deployments {
		if len(p.Deployments[i].Starts) > 0 {
			ds = append(ds, &p.Deployments[i])
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].FullName() < ds[j].FullName() })
	var objs []any
	for _, d := range ds {
		name := v1alpha1.StarterServiceAccountName(d.Flow, d.Name)
		labels := map[string]string{
			"app.kubernetes.io/component": "starter",
			v1alpha1.LabelDeployment:      v1alpha1.DeploymentLabelValue(d.Flow, d.Name),
		}
		objs = append(objs,
			&corev1.ServiceAccount{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
				ObjectMeta: objectMeta(p, name, labels),
			},
			&rbacv1.Role{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
				ObjectMeta: objectMeta(p, name, labels),
				Rules:      starterRules(),
			},
			&rbacv1.RoleBinding{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
				ObjectMeta: objectMeta(p, name, labels),
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: p.Namespace}},
			})
	}
	return objs
}

// checkStarterJob makes sure the Job preview of a deployment with starts
// runs as its ServiceAccount: a template that writes serviceAccountName
// itself instead of from {{ service_account_name }} would leave the pod
// without the rights its runs rely on.
func checkStarterJob(d *v1alpha1.Deployment, job *batchv1.Job) error {
	if len(d.Starts) == 0 {
		return nil
	}
	want := v1alpha1.StarterServiceAccountName(d.Flow, d.Name)
	if got := job.Spec.Template.Spec.ServiceAccountName; got != want {
		return fmt.Errorf("it starts runs, so its pods must run as ServiceAccount %s, but the pool's template makes serviceAccountName %q: write \"serviceAccountName\": \"{{ service_account_name }}\" in its pod spec", want, got)
	}
	return nil
}
