package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// bindUser creates a ServiceAccount bound to one of the rendered user
// Roles (render.SubmitterRole, render.ViewerRole), as an operator would,
// and returns its kubeconfig and a client with its credentials.
func (e *env) bindUser(ctx context.Context, role, sa string) (string, kubernetes.Interface) {
	e.t.Helper()
	var found bool
	for _, doc := range bytes.Split(e.out.Files["roles.yaml"], []byte("\n---\n")) {
		r := &rbacv1.Role{}
		must(e.t, yaml.UnmarshalStrict(bytes.TrimPrefix(doc, []byte(render.Header)), r))
		if r.Name != role {
			continue
		}
		found = true
		if _, err := cp.Client.RbacV1().Roles(e.ns).Get(ctx, role, metav1.GetOptions{}); err != nil {
			_, err = cp.Client.RbacV1().Roles(e.ns).Create(ctx, r, metav1.CreateOptions{})
			must(e.t, err)
		}
	}
	if !found {
		e.t.Fatalf("roles.yaml has no Role %s", role)
	}
	_, err := cp.Client.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	must(e.t, err)
	_, err = cp.Client.RbacV1().RoleBindings(e.ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa + "-" + role},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: e.ns}},
	}, metav1.CreateOptions{})
	must(e.t, err)
	kc, err := cp.KubeconfigForServiceAccount(ctx, e.ns, sa)
	must(e.t, err)
	cfg, err := cp.RESTConfigForServiceAccount(ctx, e.ns, sa)
	must(e.t, err)
	c, err := kubernetes.NewForConfig(cfg)
	must(e.t, err)
	return kc, c
}

// cancelRequestsFor lists the cancel requests naming run by name and UID.
func (e *env) cancelRequestsFor(ctx context.Context, run *corev1.ConfigMap) []string {
	e.t.Helper()
	list, err := cp.Client.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelCancelRequest + "=true"})
	must(e.t, err)
	var names []string
	for i := range list.Items {
		req, err := v1alpha1.DecodeCancelRequest(&list.Items[i])
		must(e.t, err)
		if req.Run == run.Name && req.RunUID == run.UID {
			names = append(names, list.Items[i].Name)
		}
	}
	return names
}

// cliFields is what the CLI's field manager owns in an object.
func cliFields(cm *corev1.ConfigMap) string {
	var out []string
	for _, mf := range cm.ManagedFields {
		if mf.Manager == "kubectl-flows" && mf.FieldsV1 != nil {
			out = append(out, string(mf.Operation)+" "+mf.FieldsV1.GetRawString())
		}
	}
	return strings.Join(out, "; ")
}

// TestSubmitterCLI: kubectl flows run, get, describe, logs and cancel all
// work with nothing but the rendered flows-submitter Role, and the
// submitter can change nothing else: no run, no config.
func TestSubmitterCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, cliProject, map[string]string{"template.json": testTemplate})
	e.startReconciler("")
	kc, submitter := e.bindUser(ctx, render.SubmitterRole, "alice")
	k := newCLI(t, e.dir, "KUBECONFIG="+kc)

	k.expect(0, []string{"run", "e2e/ok", "--name", "ok-1", "--wait", "--timeout", "90s"}, "Completed")
	k.expect(0, []string{"get", "runs"}, "ok-1", "e2e/ok", "Completed")
	k.expect(0, []string{"get", "deployments"}, "e2e/ok")
	k.expect(0, []string{"describe", "run", "ok-1"}, "Completed", "Job:")
	// kwok serves no logs: the API answers 404 for pods/log and logs says
	// so. What matters here is that RBAC let the submitter ask.
	if r := k.run("logs", "ok-1", "--tail", "5"); r.code != 0 && (strings.Contains(r.stderr, "forbidden") || !strings.Contains(r.stderr, "serves no logs")) {
		t.Errorf("logs as a submitter: exit %d: %s", r.code, r.stderr)
	}

	// Cancel: a new ConfigMap, never a write to the run. The submitter
	// has no update or patch on ConfigMaps, so any such attempt would have
	// failed the command.
	k.expect(0, []string{"run", "e2e/slow", "--name", "slow-1"})
	run, err := cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, "slow-1", metav1.GetOptions{})
	must(t, err)
	k.expect(0, []string{"cancel", "slow-1"}, "run slow-1 cancel requested")
	if reqs := e.cancelRequestsFor(ctx, run); len(reqs) != 1 {
		t.Errorf("want one cancel request naming slow-1 and its UID, found %v", reqs)
	}
	after, err := cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, "slow-1", metav1.GetOptions{})
	must(t, err)
	if before, now := cliFields(run), cliFields(after); before != now {
		t.Errorf("cancel changed the run's fields owned by the CLI:\nbefore %s\nafter  %s", before, now)
	}
	r := k.expect(0, []string{"get", "run", "slow-1", "-o", "json"})
	var view struct {
		Status struct {
			State           string
			CancelRequested bool
		}
	}
	must(t, json.Unmarshal([]byte(r.stdout), &view))
	if !view.Status.CancelRequested && view.Status.State != string(v1alpha1.StateCancelling) && view.Status.State != string(v1alpha1.StateCancelled) {
		t.Errorf("get run slow-1 shows neither the cancel request nor its effect: %s", r.stdout)
	}

	t.Run("run ends Cancelled", func(t *testing.T) {
		e.waitFor(ctx, 60*time.Second, "slow-1 Cancelled", func(m map[string]*v1alpha1.RunStatus) bool {
			return m["slow-1"] != nil && m["slow-1"].State == v1alpha1.StateCancelled
		})
	})

	// What the Role does not allow.
	if _, err := submitter.CoreV1().ConfigMaps(e.ns).Patch(ctx, "ok-1", types.MergePatchType, []byte(`{"data":{"status.yaml":"state: Completed\n"}}`), metav1.PatchOptions{}); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("a submitter patched a run: %v", err)
	}
	if err := submitter.CoreV1().ConfigMaps(e.ns).Delete(ctx, "ok-1", metav1.DeleteOptions{}); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("a submitter deleted a run: %v", err)
	}
	if _, err := submitter.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("a submitter cannot list Jobs: %v", err)
	}
	if err := submitter.BatchV1().Jobs(e.ns).Delete(ctx, "ok-1", metav1.DeleteOptions{}); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("a submitter deleted a Job: %v", err)
	}
	k.expect(1, []string{"pause", "queue", "main/default"}, "forbidden")
}

// TestViewerCLI: flows-viewer reads and nothing more.
func TestViewerCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, cliProject, map[string]string{"template.json": testTemplate})
	e.createRun(ctx, "seen-1", "deployment: e2e/ok\n")
	kc, viewer := e.bindUser(ctx, render.ViewerRole, "bob")
	k := newCLI(t, e.dir, "KUBECONFIG="+kc)
	k.expect(0, []string{"get", "runs"}, "seen-1")
	k.expect(0, []string{"describe", "run", "seen-1"}, "seen-1")
	if r := k.run("run", "e2e/ok"); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("a viewer submitted a run: exit %d: %s", r.code, r.stderr)
	}
	if r := k.run("cancel", "seen-1"); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("a viewer cancelled a run: exit %d: %s", r.code, r.stderr)
	}
	if _, err := viewer.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err == nil {
		t.Error("a viewer created a ConfigMap")
	}
}
