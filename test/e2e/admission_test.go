package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// installAdmissionPolicy creates what `render --admission-policy` writes,
// as a cluster admin would, and waits until the API server enforces it.
func (e *env) installAdmissionPolicy(ctx context.Context) {
	e.t.Helper()
	out, err := render.Render(e.loaded, render.Options{Version: "v0.0.0-test", AdmissionPolicy: true})
	must(e.t, err)
	docs := strings.Split(string(out.Files[render.AdmissionPolicyFile]), "\n---\n")
	if len(docs) != 2 {
		e.t.Fatalf("%s: %d documents", render.AdmissionPolicyFile, len(docs))
	}
	policy := &admissionv1.ValidatingAdmissionPolicy{}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{}
	must(e.t, yaml.UnmarshalStrict([]byte(docs[0]), policy))
	must(e.t, yaml.UnmarshalStrict([]byte(docs[1]), binding))
	vap := cp.Client.AdmissionregistrationV1()
	_, err = vap.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{})
	must(e.t, err)
	e.t.Cleanup(func() {
		_ = vap.ValidatingAdmissionPolicies().Delete(context.Background(), policy.Name, metav1.DeleteOptions{})
	})
	_, err = vap.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{})
	must(e.t, err)
	e.t.Cleanup(func() {
		_ = vap.ValidatingAdmissionPolicyBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
	})
	waitAdmissionPolicy(e.t, ctx, cp.Client, e.ns, policy.Name)
}

// waitAdmissionPolicy waits until the policy named policy is enforced in
// namespace ns. Policies take effect asynchronously: it probes with a
// dry-run creation of a run request without run.yaml until it is refused.
func waitAdmissionPolicy(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, policy string) {
	t.Helper()
	vap := c.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	probe := fixture.RunRequest("probe", "")
	probe.Data = nil
	err := harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "run.yaml"), nil
	})
	if err != nil {
		p, _ := vap.Get(ctx, policy, metav1.GetOptions{})
		t.Fatalf("the admission policy never took effect: %v; policy status: %+v", err, p.Status)
	}
	if p, err := vap.Get(ctx, policy, metav1.GetOptions{}); err == nil && p.Status.TypeChecking != nil && len(p.Status.TypeChecking.ExpressionWarnings) > 0 {
		t.Errorf("the policy's expressions have type-checking warnings: %+v", p.Status.TypeChecking.ExpressionWarnings)
	}
}

// TestAdmissionPolicy: on a real API server, the rendered policy refuses
// malformed run requests at creation and status or state writes by anyone
// but the reconciler's ServiceAccount, and lets normal traffic through.
func TestAdmissionPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, cliProject, map[string]string{"template.json": testTemplate})
	e.installRBAC(ctx) // the reconciler's ServiceAccount and Role
	recCfg, err := cp.RESTConfigForServiceAccount(ctx, e.ns, "flows-reconciler")
	must(t, err)
	reconcilerClient, err := kubernetes.NewForConfig(recCfg)
	must(t, err)
	_, submitter := e.bindUser(ctx, render.SubmitterRole, "alice")
	e.installAdmissionPolicy(ctx)

	run := func(name string, mutate func(cm *corev1.ConfigMap)) *corev1.ConfigMap {
		cm := fixture.RunRequest(name, "deployment: e2e/ok\n")
		if mutate != nil {
			mutate(cm)
		}
		return cm
	}
	create := func(c kubernetes.Interface, who string, cm *corev1.ConfigMap, refusal string) {
		t.Helper()
		_, err := c.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{})
		switch {
		case refusal == "" && err != nil:
			t.Errorf("%s creating %s: refused: %v", who, cm.Name, err)
		case refusal != "" && err == nil:
			t.Errorf("%s creating %s: accepted, want refused with %q", who, cm.Name, refusal)
		case refusal != "" && !strings.Contains(err.Error(), refusal):
			t.Errorf("%s creating %s: refused with %v, want %q", who, cm.Name, err, refusal)
		}
	}
	status, _ := v1alpha1.EncodeRunStatus(&v1alpha1.RunStatus{State: v1alpha1.StateCompleted, Reason: "Completed"})

	// Creation by a submitter.
	create(submitter, "submitter", run("ok-1", nil), "")
	create(submitter, "submitter", run("no-run-yaml", func(cm *corev1.ConfigMap) { cm.Data = map[string]string{"other": "x"} }), "data key run.yaml is required")
	create(submitter, "submitter", run("empty-run-yaml", func(cm *corev1.ConfigMap) { cm.Data[v1alpha1.KeyRun] = "" }), "data key run.yaml is required")
	create(submitter, "submitter", run("big", func(cm *corev1.ConfigMap) {
		cm.Data[v1alpha1.KeyRun] = "deployment: e2e/ok\nparameters: {name: " + strings.Repeat("x", render.MaxRunRequestBytes) + "}\n"
	}), "larger than 65536 bytes")
	create(submitter, "submitter", run("binary", func(cm *corev1.ConfigMap) { cm.BinaryData = map[string][]byte{"x": {1}} }), "binaryData is not allowed")
	create(submitter, "submitter", run(strings.Repeat("n", 64), nil), "metadata.name is longer than 63 characters")
	create(submitter, "submitter", run(strings.Repeat("n", 63), nil), "")
	create(submitter, "submitter", run("forged-status", func(cm *corev1.ConfigMap) { cm.Data[v1alpha1.KeyStatus] = status }), "data key status.yaml of a run is written by the kubectl-flows reconciler only")
	create(submitter, "submitter", run("forged-state", func(cm *corev1.ConfigMap) { cm.Labels[v1alpha1.LabelState] = "Completed" }), "label kubectl-flows.dev/state of a run is written by the kubectl-flows reconciler only")
	// The reconciler creates schedule runs with their first status.
	create(reconcilerClient, "reconciler", run("tick-1", func(cm *corev1.ConfigMap) {
		cm.Data[v1alpha1.KeyStatus] = status
		cm.Labels[v1alpha1.LabelState] = "Completed"
	}), "")
	// Other ConfigMaps are not the policy's business.
	create(cp.Client, "admin", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Data: map[string]string{v1alpha1.KeyStatus: "anything"}}, "")

	// Updates. A submitter has no update right at all (RBAC); the policy
	// guards against anyone else who has, here a cluster admin.
	patch := func(c kubernetes.Interface, who, name, body, refusal string) {
		t.Helper()
		_, err := c.CoreV1().ConfigMaps(e.ns).Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{})
		switch {
		case refusal == "" && err != nil:
			t.Errorf("%s patching %s with %s: refused: %v", who, name, body, err)
		case refusal != "" && err == nil:
			t.Errorf("%s patching %s with %s: accepted, want refused with %q", who, name, body, refusal)
		case refusal != "" && !strings.Contains(err.Error(), refusal):
			t.Errorf("%s patching %s with %s: refused with %v, want %q", who, name, body, err, refusal)
		}
	}
	statusJSON := `{"data":{"status.yaml":"state: Running\n"}}`
	patch(cp.Client, "admin", "ok-1", statusJSON, "data key status.yaml")
	patch(cp.Client, "admin", "ok-1", `{"metadata":{"labels":{"kubectl-flows.dev/state":"Completed"}}}`, "label kubectl-flows.dev/state")
	patch(cp.Client, "admin", "ok-1", `{"metadata":{"annotations":{"example.com/note":"x"}}}`, "")
	patch(reconcilerClient, "reconciler", "ok-1", statusJSON, "")
	patch(reconcilerClient, "reconciler", "ok-1", `{"metadata":{"labels":{"kubectl-flows.dev/state":"Running"}}}`, "")
	patch(cp.Client, "admin", "ok-1", `{"data":{"status.yaml":null}}`, "data key status.yaml")
	patch(cp.Client, "admin", "tick-1", `{"metadata":{"labels":{"kubectl-flows.dev/state":null}}}`, "label kubectl-flows.dev/state")
	// A ConfigMap that becomes a run by a label is checked as a new run.
	patch(cp.Client, "admin", "plain", `{"metadata":{"labels":{"kubectl-flows.dev/run":"true"}}}`, "data key run.yaml is required")
	if err := submitter.CoreV1().ConfigMaps(e.ns).Delete(ctx, "ok-1", metav1.DeleteOptions{}); err == nil {
		t.Error("a submitter deleted a run")
	}
}
