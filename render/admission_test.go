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

// TestAdmissionPolicyStarters: a project whose deployments start runs gets
// a policy holding each starter ServiceAccount to its starts, by the run's
// deployment label; one without starts gets no such rule. What it refuses
// is tested on a real API server with the reconciler in the cluster
// (test/e2e TestRealNodeFlows).
func TestAdmissionPolicyStarters(t *testing.T) {
	policy := func(file string) *admissionv1.ValidatingAdmissionPolicy {
		t.Helper()
		l, err := project.Load(file, project.LoadOptions{ExtVars: goldenVars})
		if err != nil {
			t.Fatal(err)
		}
		out, err := render.Render(l, render.Options{Version: goldenVersion, AdmissionPolicy: true})
		if err != nil {
			t.Fatal(err)
		}
		p := &admissionv1.ValidatingAdmissionPolicy{}
		doc, _, _ := strings.Cut(string(out.Files[render.AdmissionPolicyFile]), "\n---\n")
		if err := yaml.UnmarshalStrict([]byte(doc), p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	starts := func(p *admissionv1.ValidatingAdmissionPolicy) (variable string, rules int) {
		for _, v := range p.Spec.Variables {
			if v.Name == "starts" {
				variable = v.Expression
			}
		}
		for _, v := range p.Spec.Validations {
			if strings.Contains(v.Expression, "variables.starts") {
				rules++
			}
		}
		return variable, rules
	}
	if v, n := starts(policy("../examples/hello/flows.yaml")); v != "" || n != 0 {
		t.Errorf("hello starts no runs, but its policy has starts %q and %d rules on them", v, n)
	}
	v, n := starts(policy("../examples/multi-pool/flows.yaml"))
	if want := "{'system:serviceaccount:data-flows:flows-starter-train-model-nightly': ['ingest-orders.backfill']}"; v != want || n != 1 {
		t.Errorf("multi-pool's policy: starts %q and %d rules on them; want %q and 1", v, n, want)
	}
}
