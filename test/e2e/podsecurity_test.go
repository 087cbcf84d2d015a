package e2e

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// restrictedNamespace is a fresh namespace carrying the pod-security labels
// render gives the project namespace.
func restrictedNamespace(t *testing.T, out *render.Output) string {
	t.Helper()
	rendered := &corev1.Namespace{}
	must(t, yaml.UnmarshalStrict(bytes.TrimPrefix(out.Files["namespace.yaml"], []byte(render.Header)), rendered))
	if rendered.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("the rendered namespace does not enforce restricted: %v", rendered.Labels)
	}
	name := cp.NewNamespace(t)
	labelPodSecurity(t, name, rendered.Labels)
	return name
}

// labelPodSecurity gives namespace name the pod-security labels of labels.
func labelPodSecurity(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	ns, err := cp.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	must(t, err)
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	for k, v := range labels {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			ns.Labels[k] = v
		}
	}
	_, err = cp.Client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
	must(t, err)
}

// admitPod asks the API server (dry run, so the PodSecurity admission
// plugin decides and nothing runs) to create a pod from spec.
func admitPod(ctx context.Context, ns, name string, tmpl corev1.PodTemplateSpec) error {
	pod := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	pod.Name, pod.Namespace, pod.GenerateName = name, ns, ""
	if sa := pod.Spec.ServiceAccountName; sa != "" && sa != "default" {
		_, _ = cp.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	}
	_, err := cp.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// TestPodSecurityRestricted: in a namespace labelled as render labels the
// project namespace (enforce: restricted), the API server admits the pods
// of every example deployment's Job preview and of the reconciler, and a
// real Job from the default template gets its pod. A pod without the
// template's securityContext is refused there, so the check is live.
func TestPodSecurityRestricted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root, err := harness.RepoRoot()
	must(t, err)
	for _, file := range examplePaths(t, "flows.*") {
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			l, err := project.Load(file, project.LoadOptions{ExtVars: map[string]string{project.ExtVarGitSHA: "e2e"}})
			must(t, err)
			out, err := render.Render(l, render.Options{Version: "v0.0.0-e2e"})
			must(t, err)
			ns := restrictedNamespace(t, out)
			checked := 0
			for _, p := range out.Paths() {
				if !strings.HasPrefix(p, "deployments/") {
					continue
				}
				cm := &corev1.ConfigMap{}
				must(t, yaml.Unmarshal(out.Files[p], cm))
				job := &batchv1.Job{}
				must(t, yaml.UnmarshalStrict([]byte(cm.Data[v1alpha1.KeyJobPreview]), job))
				if err := admitPod(ctx, ns, "preview", job.Spec.Template); err != nil {
					t.Errorf("%s: the preview Job's pod is refused in a restricted namespace: %v", p, err)
				}
				checked++
			}
			if checked == 0 {
				t.Fatal("no deployments")
			}
			for _, doc := range bytes.Split(out.Files["reconciler.yaml"], []byte("\n---\n")) {
				d := &appsv1.Deployment{}
				if yaml.Unmarshal(bytes.TrimPrefix(doc, []byte(render.Header)), d) != nil || d.Kind != "Deployment" {
					continue
				}
				if err := admitPod(ctx, ns, "reconciler", d.Spec.Template); err != nil {
					t.Errorf("the reconciler's pod is refused in a restricted namespace: %v", err)
				}
			}
		})
	}

	t.Run("a real Job from the default template", func(t *testing.T) {
		l, err := project.Load(filepath.Join(root, "examples", "hello", "flows.yaml"), project.LoadOptions{ExtVars: map[string]string{project.ExtVarGitSHA: "e2e"}})
		must(t, err)
		out, err := render.Render(l, render.Options{Version: "v0.0.0-e2e"})
		must(t, err)
		ns := restrictedNamespace(t, out)
		cm := &corev1.ConfigMap{}
		must(t, yaml.Unmarshal(out.Files["deployments/flows-deployment-hello-default.yaml"], cm))
		job := &batchv1.Job{}
		must(t, yaml.UnmarshalStrict([]byte(cm.Data[v1alpha1.KeyJobPreview]), job))
		job.Namespace = ns

		bare := job.Spec.Template.DeepCopy()
		bare.Spec.SecurityContext = nil
		for i := range bare.Spec.Containers {
			bare.Spec.Containers[i].SecurityContext = nil
		}
		if err := admitPod(ctx, ns, "bare", *bare); err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Fatalf("a pod without securityContext was not refused, the namespace does not enforce: %v", err)
		}

		_, err = cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
		must(t, err)
		must(t, harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
			pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job.Name})
			return err == nil && len(pods.Items) > 0, err
		}))
	})
}

// TestPodRefusalCrashesRun: in a namespace enforcing restricted, as render
// labels the project namespace, a pool whose template is not restricted
// (testTemplate has no securityContext) gets Jobs whose pods the API server
// refuses. The run ends Crashed with the refusal, the Job controller's
// FailedCreate event, in its status rather than "no pod started".
func TestPodRefusalCrashesRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: refused
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    jobVariables:
      pod_watch_timeout_seconds: 5
deployments:
  - {flow: hello, name: default, entrypoint: hello.py:hello, pool: p}
`, map[string]string{"template.json": testTemplate})
	rendered := &corev1.Namespace{}
	must(t, yaml.UnmarshalStrict(bytes.TrimPrefix(e.out.Files["namespace.yaml"], []byte(render.Header)), rendered))
	labelPodSecurity(t, e.ns, rendered.Labels)
	e.startReconciler("")
	e.createRun(ctx, "refused", "deployment: hello/default\n")
	st := waitState(t, ctx, e.ns, "refused", v1alpha1.StateCrashed, 90*time.Second)
	if st.Reason != "FailedCreate" || !strings.Contains(st.Message, "violates PodSecurity") || !strings.Contains(st.Message, "restricted") {
		t.Errorf("Crashed with %s: %q, want FailedCreate and the API server's PodSecurity refusal", st.Reason, st.Message)
	}
	if len(st.Message) > 1100 {
		t.Errorf("status message of %d bytes", len(st.Message))
	}
	t.Logf("Crashed %s: %.200s", st.Reason, st.Message)
}
