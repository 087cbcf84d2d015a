package render_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

const notifyingProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: notify
namespace: flows
pools:
  - name: p
notifications:
  - {name: oncall, secret: flows-webhook, events: [Failed, Crashed]}
deployments:
  - flow: a
    name: one
    entrypoint: a.py:a
    image: x:1
    pool: p
    sla: {maxLateness: 20s}
    notifications:
      - {name: team, secret: team-webhook, format: slack, events: [SLA]}
  - {flow: b, name: two, entrypoint: b.py:b, image: x:1, pool: p}
`

// loadNotifying loads notifyingProject from a directory of its own.
func loadNotifying(t *testing.T) (string, *project.Loaded) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flows.yaml"), []byte(notifyingProject), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := project.Load(filepath.Join(dir, "flows.yaml"), project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, l
}

// TestNotificationConfig: each deployment's config carries its effective
// targets (the project's, then its own) with its SLA, and the reconciler's
// Role may get those Secrets by name and no other Secret.
func TestNotificationConfig(t *testing.T) {
	_, l := loadNotifying(t)
	out, err := render.Render(l, render.Options{Version: "v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		"deployments/flows-deployment-a-one.yaml": {"oncall", "team"},
		"deployments/flows-deployment-b-two.yaml": {"oncall"},
	} {
		cm := &corev1.ConfigMap{}
		if err := yaml.Unmarshal(bytes.TrimPrefix(out.Files[file], []byte(render.Header)), cm); err != nil {
			t.Fatal(err)
		}
		d, err := project.DecodeConfigMap(cm)
		if err != nil {
			t.Fatal(err)
		}
		dep := d.(*project.InstalledDeployment)
		var got []string
		for _, n := range dep.Notifications {
			got = append(got, n.Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: targets %v, want %v", file, got, want)
		}
		if (dep.SLA != nil) != (file == "deployments/flows-deployment-a-one.yaml") {
			t.Errorf("%s: sla %+v", file, dep.SLA)
		}
	}

	var secretRules []rbacv1.PolicyRule
	for _, doc := range bytes.Split(out.Files["reconciler.yaml"], []byte("\n---\n")) {
		var role rbacv1.Role
		if err := yaml.Unmarshal(bytes.TrimPrefix(doc, []byte(render.Header)), &role); err != nil {
			t.Fatal(err)
		}
		if role.Kind != "Role" {
			continue
		}
		for _, r := range role.Rules {
			if reflect.DeepEqual(r.Resources, []string{"secrets"}) {
				secretRules = append(secretRules, r)
			}
		}
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"flows-reconciler-state"}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"flows-webhook", "team-webhook"}, Verbs: []string{"get"}},
	}
	if !reflect.DeepEqual(secretRules, want) {
		t.Errorf("the reconciler's Secret rules:\n%+v\nwant\n%+v", secretRules, want)
	}
}

// TestMonitoringFiles: --monitoring writes the dashboard, the alerts and
// the PodMonitor with a kustomization of their own, which kustomize
// builds into the project namespace; the top-level kustomization leaves
// them out.
func TestMonitoringFiles(t *testing.T) {
	dir, l := loadNotifying(t)
	out, err := render.Render(l, render.Options{Version: "v0.1.0", Monitoring: true})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Files["kustomization.yaml"], []byte("monitoring/")) {
		t.Errorf("the top-level kustomization lists the monitoring files:\n%s", out.Files["kustomization.yaml"])
	}
	deploy := filepath.Join(dir, "deploy")
	if err := out.Write(deploy); err != nil {
		t.Fatal(err)
	}
	built, err := render.Kustomize(filepath.Join(deploy, render.MonitoringDir))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, doc := range bytes.Split(built, []byte("\n---\n")) {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string            `json:"name"`
				Namespace string            `json:"namespace"`
				Labels    map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatal(err)
		}
		kinds[obj.Kind] = obj.Metadata.Name
		if obj.Metadata.Namespace != "flows" {
			t.Errorf("%s %s in namespace %q", obj.Kind, obj.Metadata.Name, obj.Metadata.Namespace)
		}
		if obj.Kind == "ConfigMap" && obj.Metadata.Labels[render.GrafanaDashboardLabel] != "1" {
			t.Errorf("the dashboard ConfigMap is not labelled for Grafana's sidecar: %v", obj.Metadata.Labels)
		}
	}
	want := map[string]string{"ConfigMap": "flows-grafana-dashboard", "PodMonitor": "flows-reconciler", "PrometheusRule": "flows-reconciler"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("built %v, want %v", kinds, want)
	}
	// Rendered again without the flag, the files go.
	out, err = render.Render(l, render.Options{Version: "v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Write(deploy); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(deploy, render.MonitoringDir, "kustomization.yaml")); !os.IsNotExist(err) {
		t.Errorf("monitoring files left behind: %v", err)
	}
}
