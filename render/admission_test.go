package render_test

import (
	"bytes"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// TestAdmissionPolicyFile: --admission-policy adds one file, outside the
// kustomization, holding a policy and a binding for the project namespace
// only. What the policy refuses is tested on a real API server
// (test/e2e TestAdmissionPolicy).
func TestAdmissionPolicyFile(t *testing.T) {
	l, err := project.Load("../examples/hello/flows.yaml", project.LoadOptions{ExtVars: goldenVars})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := render.Render(l, render.Options{Version: goldenVersion})
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Render(l, render.Options{Version: goldenVersion, AdmissionPolicy: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.Files[render.AdmissionPolicyFile]; ok {
		t.Fatal("admission policy rendered without --admission-policy")
	}
	if len(out.Files) != len(plain.Files)+1 {
		t.Fatalf("--admission-policy should add exactly one file: %v", out.Paths())
	}
	for p, b := range plain.Files {
		if !bytes.Equal(b, out.Files[p]) {
			t.Errorf("--admission-policy changed %s", p)
		}
	}
	b := out.Files[render.AdmissionPolicyFile]
	if !bytes.HasPrefix(b, []byte(render.Header)) || !bytes.Contains(b, []byte("not applied by")) {
		t.Errorf("the file must carry the generated header and say it is not applied by default:\n%s", b)
	}
	docs := strings.Split(string(b), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("want a policy and a binding, got %d documents", len(docs))
	}
	policy := &admissionv1.ValidatingAdmissionPolicy{}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{}
	if err := yaml.UnmarshalStrict([]byte(docs[0]), policy); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), binding); err != nil {
		t.Fatal(err)
	}
	if policy.Kind != "ValidatingAdmissionPolicy" || binding.Kind != "ValidatingAdmissionPolicyBinding" || binding.Spec.PolicyName != policy.Name {
		t.Errorf("policy %s/%s, binding %s for %q", policy.Kind, policy.Name, binding.Kind, binding.Spec.PolicyName)
	}
	if got := binding.Spec.MatchResources.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; got != "flows" {
		t.Errorf("binding selects namespace %q, want flows", got)
	}
	if !strings.Contains(docs[0], "system:serviceaccount:flows:flows-reconciler") {
		t.Error("the policy does not name the reconciler's ServiceAccount")
	}
	if strings.Contains(string(out.Files["kustomization.yaml"]), "admission") {
		t.Errorf("kustomization lists the admission policy:\n%s", out.Files["kustomization.yaml"])
	}
}
