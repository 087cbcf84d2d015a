package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

const startersProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: s
namespace: flows
pools:
  - name: p
    baseJobTemplate: template.json
deployments:
  - {flow: a, name: parent, entrypoint: a.py:a, image: x:1, pool: p, starts: [b/child]}
  - {flow: b, name: child, entrypoint: b.py:b, image: x:1, pool: p}
`

// TestStarterServiceAccount: a deployment with starts gets starters.yaml
// and its Job runs as its ServiceAccount; a template that writes
// serviceAccountName itself, not from service_account_name, is an error
// naming the deployment.
func TestStarterServiceAccount(t *testing.T) {
	def, err := os.ReadFile("../jobtemplate/default.json")
	if err != nil {
		t.Fatal(err)
	}
	renderWith := func(template string) (*render.Output, error) {
		dir := t.TempDir()
		for name, content := range map[string]string{"flows.yaml": startersProject, "template.json": template} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		l, err := project.Load(filepath.Join(dir, "flows.yaml"), project.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return render.Render(l, render.Options{Version: "v0.1.0"})
	}
	out, err := renderWith(string(def))
	if err != nil {
		t.Fatal(err)
	}
	starters := string(out.Files[render.StartersFile])
	if strings.Count(starters, "name: flows-starter-a-parent\n") != 5 || strings.Contains(starters, "b-child") {
		t.Errorf("starters.yaml:\n%s", starters)
	}
	if !strings.Contains(string(out.Files["deployments/flows-deployment-a-parent.yaml"]), "serviceAccountName: flows-starter-a-parent") {
		t.Error("the parent's Job preview does not run as its ServiceAccount")
	}
	if strings.Contains(string(out.Files["deployments/flows-deployment-b-child.yaml"]), "serviceAccountName: flows-starter") {
		t.Error("the child's Job runs as a starter ServiceAccount")
	}

	fixed := strings.Replace(string(def), `"{{ service_account_name }}"`, `"builder"`, 1)
	if fixed == string(def) {
		t.Fatal("the default template no longer writes serviceAccountName from service_account_name")
	}
	_, err = renderWith(fixed)
	if err == nil || !strings.Contains(err.Error(), "a/parent") || !strings.Contains(err.Error(), `serviceAccountName "builder"`) {
		t.Errorf("a template that ignores service_account_name: %v", err)
	}
}
