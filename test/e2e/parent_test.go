package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/plugin"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// parentProject: pipeline/nightly may start runs of etl/extract, and
// nothing else; etl/load exists but is not in its starts. Runs may set
// pod annotations (kwok's delays).
const parentProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: parents
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    runOverrides: [pod_annotations]
deployments:
  - flow: pipeline
    name: nightly
    entrypoint: flows/pipeline.py:nightly
    pool: p
    starts: [etl/extract]
  - {flow: etl, name: extract, entrypoint: flows/etl.py:extract, pool: p}
  - {flow: etl, name: load, entrypoint: flows/etl.py:load, pool: p}
`

// saTemplate is testTemplate with Prefect's service_account_name
// variable, which gives a deployment with starts its ServiceAccount.
var saTemplate = strings.NewReplacer(
	`"restartPolicy": "Never",`, `"restartPolicy": "Never", "serviceAccountName": "{{ service_account_name }}",`,
	`"namespace": {"type": "string"},`, `"namespace": {"type": "string"}, "service_account_name": {"type": "string"},`,
).Replace(testTemplate)

// TestRunsStartRuns: a run's pod starts a child run with
// `kubectl flows run other/deploy --wait -o json` using nothing but the
// ServiceAccount render made for its deployment (its token in a
// kubeconfig, as the pod's would be in-cluster) and FLOWS_RUN_NAME. The
// child records its parent, describe shows both, the reconciler refuses a
// parent the submitter cannot claim, cancelling the parent cancels its
// unfinished children, and the ServiceAccount can do nothing but create and
// read ConfigMaps.
func TestRunsStartRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, parentProject, map[string]string{"template.json": saTemplate})
	e.createRBAC(ctx, render.StartersFile)
	e.startReconciler("")
	admin := newCLI(t, e.dir)

	sa := v1alpha1.StarterServiceAccountName("pipeline", "nightly")
	e.createRun(ctx, "nightly-1", "deployment: pipeline/nightly\njobVariables: {pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 1h}}\n")
	waitState(t, ctx, e.ns, "nightly-1", v1alpha1.StateRunning, 60*time.Second)
	job := waitJob(t, ctx, e.ns, "nightly-1", 10*time.Second)
	if got := job.Spec.Template.Spec.ServiceAccountName; got != sa {
		t.Fatalf("the parent's pods run as ServiceAccount %q, want %q", got, sa)
	}
	parent, err := cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, "nightly-1", metav1.GetOptions{})
	must(t, err)

	// The flow's pod: the ServiceAccount's token, the namespace of its
	// context (in a pod, the ServiceAccount's), no project file, and the
	// FLOWS_RUN_NAME its Job sets.
	kc, err := cp.KubeconfigForServiceAccount(ctx, e.ns, sa)
	must(t, err)
	cfg, err := cp.RESTConfigForServiceAccount(ctx, e.ns, sa)
	must(t, err)
	podClient, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	pod := newCLI(t, t.TempDir(), "KUBECONFIG="+kc, "FLOWS_RUN_NAME="+job.Name)

	var child struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
		Spec     v1alpha1.RunRequest
		Status   v1alpha1.RunStatus
	}
	r := pod.expect(0, []string{"run", "etl/extract", "--name", "extract-1", "--wait", "-o", "json", "--timeout", "90s"})
	if err := json.Unmarshal([]byte(r.stdout), &child); err != nil {
		t.Fatalf("run --wait -o json printed no run object: %v\n%s", err, r.stdout)
	}
	if child.Status.State != v1alpha1.StateCompleted || child.Spec.Parent == nil || !child.Spec.Parent.Is(parent) {
		t.Errorf("child as printed: state %s, parent %+v; want Completed, nightly-1 (%s)", child.Status.State, child.Spec.Parent, parent.UID)
	}

	pod.expect(0, []string{"run", "etl/extract", "--name", "extract-slow", "-j", `pod_annotations={"pod-complete.stage.kwok.x-k8s.io/delay":"1h"}`})
	pod.expect(0, []string{"run", "etl/extract", "--name", "extract-later", "--in", "1h"})
	waitState(t, ctx, e.ns, "extract-slow", v1alpha1.StateRunning, 60*time.Second)

	t.Run("the reconciler refuses parents it cannot accept", func(t *testing.T) {
		// etl/load is not in pipeline/nightly's starts.
		pod.expect(plugin.ExitRejected, []string{"run", "etl/load", "--name", "load-1", "--wait", "--timeout", "60s"}, "InvalidParent", "does not list etl/load")
		// A parent named with another UID (a run deleted and made again
		// under the same name is another run).
		forged := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "forged-child", Labels: map[string]string{v1alpha1.LabelRun: "true"}},
			Data:       map[string]string{v1alpha1.KeyRun: "deployment: etl/extract\nparent: {run: nightly-1, runUID: not-its-uid}\n"},
		}
		_, err := podClient.CoreV1().ConfigMaps(e.ns).Create(ctx, forged, metav1.CreateOptions{})
		must(t, err)
		st := waitState(t, ctx, e.ns, "forged-child", v1alpha1.StateRejected, 30*time.Second)
		if st.Reason != "InvalidParent" || !strings.Contains(st.Message, "does not exist") {
			t.Errorf("forged parent: %s %s", st.Reason, st.Message)
		}
	})

	t.Run("describe and get show parent and children", func(t *testing.T) {
		admin.expect(0, []string{"describe", "run", "nightly-1"}, "Children:", "extract-1", "extract-slow", "extract-later")
		admin.expect(0, []string{"describe", "run", "extract-slow"}, "Parent:", "nightly-1 (Running)")
		r := admin.expect(0, []string{"get", "runs", "-o", "wide"}, "PARENT")
		// The table is aligned: the PARENT cell starts where its header does.
		lines := strings.Split(r.stdout, "\n")
		col := strings.Index(lines[0], " PARENT ") + 1
		for _, line := range lines {
			if !strings.HasPrefix(line, "extract-slow ") {
				continue
			}
			if col == 0 || len(line) <= col || strings.Fields(line[col:])[0] != "nightly-1" {
				t.Errorf("get runs -o wide: the child's PARENT cell is not its parent: %q", line)
			}
		}
	})

	t.Run("the ServiceAccount may only create and read ConfigMaps", func(t *testing.T) {
		cm, err := podClient.CoreV1().ConfigMaps(e.ns).Get(ctx, "extract-slow", metav1.GetOptions{})
		must(t, err)
		cm.Data[v1alpha1.KeyStatus] = "state: Completed\n"
		if _, err := podClient.CoreV1().ConfigMaps(e.ns).Update(ctx, cm, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("update a run as the starter: %v, want Forbidden", err)
		}
		if _, err := podClient.CoreV1().ConfigMaps(e.ns).Patch(ctx, "flows-pool-p", types.MergePatchType, []byte(`{"metadata":{"annotations":{"x":"y"}}}`), metav1.PatchOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("patch the config as the starter: %v, want Forbidden", err)
		}
		if err := podClient.CoreV1().ConfigMaps(e.ns).Delete(ctx, "extract-1", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("delete a run as the starter: %v, want Forbidden", err)
		}
		if _, err := podClient.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("list Jobs as the starter: %v, want Forbidden", err)
		}
		if _, err := podClient.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("list pods as the starter: %v, want Forbidden", err)
		}
		if _, err := podClient.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("list Secrets as the starter: %v, want Forbidden", err)
		}
	})

	t.Run("cancelling the parent cancels its unfinished children", func(t *testing.T) {
		admin.expect(0, []string{"cancel", "nightly-1"}, "cancel requested")
		waitState(t, ctx, e.ns, "nightly-1", v1alpha1.StateCancelled, 60*time.Second)
		for _, name := range []string{"extract-slow", "extract-later"} {
			st := waitState(t, ctx, e.ns, name, v1alpha1.StateCancelled, 60*time.Second)
			if !strings.Contains(st.Message, "with its parent run nightly-1") {
				t.Errorf("%s: %q does not say it was cancelled with its parent", name, st.Message)
			}
		}
		if st := runStatus(t, ctx, e.ns, "extract-1"); st.State != v1alpha1.StateCompleted {
			t.Errorf("the finished child is now %s", st.State)
		}
		// A child started after its parent was cancelled is cancelled too.
		pod.expect(plugin.ExitCancelled, []string{"run", "etl/extract", "--name", "too-late", "--wait", "--timeout", "60s"})
	})
}
