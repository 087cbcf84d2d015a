package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/manifests"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// AdmissionPolicyFile is where `render --admission-policy` writes the
// ValidatingAdmissionPolicy and its binding. It is outside the
// kustomization on purpose: both are cluster-scoped, so applying them needs
// a cluster admin, not the namespace's GitOps identity.
const AdmissionPolicyFile = "admission/flows-admission-policy.yaml"

// MaxRunRequestBytes bounds a run request's data (keys and values) at
// creation. A run request is a deployment name, parameters and a few job
// variables; 64 KiB is far above any real one and far below the 1 MiB a
// ConfigMap may hold, which the reconciler would otherwise cache and copy.
const MaxRunRequestBytes = 64 << 10

const admissionHeader = `# Optional admission hardening for this project (kubectl flows render
# --admission-policy). NOT part of kustomization.yaml and not applied by
# default: a ValidatingAdmissionPolicy and its binding are cluster-scoped,
# so a cluster admin applies this file (kubectl apply -f) once.
#
# It refuses, in namespace %[1]s:
#   - run requests (ConfigMaps labelled kubectl-flows.dev/run=true) that
#     lack data key run.yaml, carry binaryData, hold more than %[2]d bytes of
#     data, or are named longer than 63 characters (the name becomes a label
#     value);
#   - a status.yaml or kubectl-flows.dev/state label set or changed by
#     anyone but the reconciler's ServiceAccount, %[3]s;
#   - run requests by a deployment's starter ServiceAccount (starters.yaml)
#     for a deployment its starts does not list, as label %[4]s
#     names it (the reconciler rejects a label that disagrees with run.yaml).
# The reconciler must then run in the cluster under that ServiceAccount: a
# reconciler run out of cluster with other credentials would have its
# status writes refused.
`

// reconcilerUser is the user name the reconciler's ServiceAccount
// authenticates as.
func reconcilerUser(p *project.Project) string {
	return "system:serviceaccount:" + p.Namespace + ":" + manifests.Name
}

// admissionPolicy builds the policy and binding for the project namespace.
// CEL checks what can be checked from the object alone; the reconciler
// still validates everything (this is defence in depth, for clusters whose
// admins install it).
func admissionPolicy(p *project.Project) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	name := "kubectl-flows-" + p.Namespace
	user := reconcilerUser(p)
	fail := admissionv1.Fail
	equivalent := admissionv1.Equivalent
	labels := map[string]string{LabelManagedBy: ManagedBy, LabelPartOf: p.Name}
	policy := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{
				ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelRun: "true"}},
				ResourceRules: []admissionv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionv1.RuleWithOperations{
						Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
						Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
					},
				}},
				MatchPolicy: &equivalent,
			},
			Variables:   admissionVariables(user),
			Validations: admissionValidations(user),
		},
	}
	if starts := starterStarts(p); len(starts) > 0 {
		spec := &policy.Spec
		spec.Variables = append(spec.Variables, admissionv1.Variable{Name: "starts", Expression: celStringLists(starts)})
		spec.Validations = append(spec.Validations, starterValidation())
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: p.Namespace}},
			},
		},
	}
	return policy, binding
}

// admissionVariables are the policy's names for what its validations
// compare: whether the request comes from the reconciler, whether it makes
// a new run, and the run's status and state before and after it.
func admissionVariables(user string) []admissionv1.Variable {
	// A ConfigMap was already a run before this request only on UPDATE of
	// one labelled as a run: a label added to an existing ConfigMap makes
	// it a new run request, checked like a creation.
	wasRun := fmt.Sprintf(`request.operation == 'UPDATE' && has(oldObject.metadata.labels) && '%[1]s' in oldObject.metadata.labels && oldObject.metadata.labels['%[1]s'] == 'true'`, v1alpha1.LabelRun)
	// present is a map entry as one string that tells "absent" from any
	// value (even empty), so "set or changed" is one comparison.
	present := func(obj, field, key string) string {
		return fmt.Sprintf(`has(%[1]s.%[2]s) && '%[3]s' in %[1]s.%[2]s ? 'set:' + %[1]s.%[2]s['%[3]s'] : 'unset'`, obj, field, key)
	}
	return []admissionv1.Variable{
		{Name: "reconciler", Expression: fmt.Sprintf("request.userInfo.username == '%s'", user)},
		{Name: "newRun", Expression: "!(" + wasRun + ")"},
		{Name: "status", Expression: present("object", "data", v1alpha1.KeyStatus)},
		{Name: "oldStatus", Expression: "variables.newRun ? 'unset' : (" + present("oldObject", "data", v1alpha1.KeyStatus) + ")"},
		{Name: "state", Expression: present("object.metadata", "labels", v1alpha1.LabelState)},
		{Name: "oldState", Expression: "variables.newRun ? 'unset' : (" + present("oldObject.metadata", "labels", v1alpha1.LabelState) + ")"},
	}
}

// admissionValidations are the checks of a run request: its run key and
// size, its name, and that its status and state are the reconciler's
// alone to write.
func admissionValidations(user string) []admissionv1.Validation {
	msgReconcilerOnly := func(field string) string {
		return fmt.Sprintf("%s of a run is written by the kubectl-flows reconciler only (%s): leave it out of run requests and do not edit it", field, user)
	}
	return []admissionv1.Validation{
		{
			Expression: fmt.Sprintf("!variables.newRun || (has(object.data) && '%[1]s' in object.data && size(object.data['%[1]s']) > 0)", v1alpha1.KeyRun),
			Message:    fmt.Sprintf("run request: data key %s is required (the deployment to run and its parameters); create runs with kubectl flows run", v1alpha1.KeyRun),
			Reason:     ptr.To(metav1.StatusReasonInvalid),
		},
		{
			Expression: "!variables.newRun || !has(object.binaryData)",
			Message:    "run request: binaryData is not allowed; a run request holds data key " + v1alpha1.KeyRun + " only",
			Reason:     ptr.To(metav1.StatusReasonInvalid),
		},
		{
			Expression: fmt.Sprintf("!variables.newRun || !has(object.data) || object.data.map(k, size(k) + size(object.data[k])).sum() <= %d", MaxRunRequestBytes),
			Message:    fmt.Sprintf("run request: data is larger than %d bytes (keys and values together); pass large inputs by reference (a URL or object name), not as parameters", MaxRunRequestBytes),
			Reason:     ptr.To(metav1.StatusReasonRequestEntityTooLarge),
		},
		{
			Expression: "!variables.newRun || size(object.metadata.name) <= 63",
			Message:    "run request: metadata.name is longer than 63 characters; a run's name is used as a label value, so keep it to 63",
			Reason:     ptr.To(metav1.StatusReasonInvalid),
		},
		{
			Expression: "variables.reconciler || variables.status == variables.oldStatus",
			Message:    msgReconcilerOnly("data key " + v1alpha1.KeyStatus),
			Reason:     ptr.To(metav1.StatusReasonForbidden),
		},
		{
			Expression: "variables.reconciler || variables.state == variables.oldState",
			Message:    msgReconcilerOnly("label " + v1alpha1.LabelState),
			Reason:     ptr.To(metav1.StatusReasonForbidden),
		},
	}
}

// starterStarts maps the user name of each deployment's starter
// ServiceAccount (starters.yaml) to the deployments it may start, as
// LabelDeployment values, sorted.
func starterStarts(p *project.Project) map[string][]string {
	m := map[string][]string{}
	for _, d := range p.Deployments {
		user := "system:serviceaccount:" + p.Namespace + ":" + v1alpha1.StarterServiceAccountName(d.Flow, d.Name)
		for _, s := range d.Starts {
			flow, name, _ := v1alpha1.SplitDeployment(s)
			m[user] = append(m[user], v1alpha1.DeploymentLabelValue(flow, name))
		}
	}
	for user, v := range m {
		slices.Sort(v)
		m[user] = slices.Compact(v)
	}
	return m
}

// celStringLists writes m as a CEL map literal, keys in order. Its
// strings are user names and label values: no quotes or backslashes.
func celStringLists(m map[string][]string) string {
	var entries []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		entries = append(entries, fmt.Sprintf("'%s': ['%s']", k, strings.Join(m[k], "', '")))
	}
	return "{" + strings.Join(entries, ", ") + "}"
}

// starterValidation holds a starter ServiceAccount to its deployment's
// starts. RBAC lets it create any ConfigMap, and CEL cannot read run.yaml:
// the run's deployment label says which deployment it is, and the
// reconciler rejects a run whose label disagrees with its run.yaml.
func starterValidation() admissionv1.Validation {
	labelled := fmt.Sprintf("has(object.metadata.labels) && '%s' in object.metadata.labels", v1alpha1.LabelDeployment)
	return admissionv1.Validation{
		Expression: fmt.Sprintf("!variables.newRun || !(request.userInfo.username in variables.starts) || (%s && object.metadata.labels['%s'] in variables.starts[request.userInfo.username])",
			labelled, v1alpha1.LabelDeployment),
		Message: fmt.Sprintf("run request: a deployment's starter ServiceAccount may create runs only of the deployments its starts lists, named by label %s", v1alpha1.LabelDeployment),
		MessageExpression: fmt.Sprintf(`'run request by ' + request.userInfo.username + ': a starter may create runs only of the deployments its deployment starts (' + variables.starts[request.userInfo.username].join(', ') + '), named by label %[1]s; ' + (%[2]s ? 'this one names ' + object.metadata.labels['%[1]s'] : 'this one has no such label')`,
			v1alpha1.LabelDeployment, labelled),
		Reason: ptr.To(metav1.StatusReasonForbidden),
	}
}

// admissionFile renders AdmissionPolicyFile.
func admissionFile(p *project.Project) ([]byte, error) {
	policy, binding := admissionPolicy(p)
	b, _, err := encodeFile(false, policy, binding)
	if err != nil {
		return nil, err
	}
	comment := fmt.Sprintf(admissionHeader, p.Namespace, MaxRunRequestBytes, reconcilerUser(p), v1alpha1.LabelDeployment)
	return []byte(Header + comment + strings.TrimPrefix(string(b), Header)), nil
}
