package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// attackProject is the project the attacks of issue 12 are tried on: a
// pool whose runs may set only env and pod annotations (kwok's delays),
// and a tag limited to one slot.
const attackProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: attack
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    runOverrides: [env, pod_annotations]
    jobVariables:
      pod_annotations:
        pod-complete.stage.kwok.x-k8s.io/delay: 300ms
concurrencyLimits:
  - {tag: database, limit: 1}
deployments:
  - {flow: hello, name: default, entrypoint: hello.py:hello, pool: p}
  - {flow: hello, name: db, entrypoint: hello.py:hello, pool: p, tags: [database]}
`

// TestSubmitterAttacks makes each attack of issue 12 as a submitter (a
// ServiceAccount bound to the rendered flows-submitter Role, through its
// own credentials) against the real reconciler, and checks that it has no
// effect or that the run is Rejected with a reason.
func TestSubmitterAttacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, attackProject, map[string]string{"template.json": testTemplate})
	_, sub := e.bindUser(ctx, "flows-submitter", "mallory")
	e.startReconciler("")

	create := func(t *testing.T, cm *corev1.ConfigMap) *corev1.ConfigMap {
		t.Helper()
		out, err := sub.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating %s as the submitter: %v", cm.Name, err)
		}
		return out
	}
	run := func(name, runYAML string) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1alpha1.LabelRun: "true"}},
			Data:       map[string]string{v1alpha1.KeyRun: runYAML},
		}
	}

	t.Run("submitter cannot update a ConfigMap", func(t *testing.T) {
		cm := create(t, run("upd", "deployment: hello/default\n"))
		cm.Data[v1alpha1.KeyStatus] = "state: Completed\n"
		if _, err := sub.CoreV1().ConfigMaps(e.ns).Update(ctx, cm, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("update as the submitter: %v, want Forbidden", err)
		}
		waitState(t, ctx, e.ns, "upd", v1alpha1.StateCompleted, 60*time.Second)
	})

	t.Run("1 forged config is ignored", func(t *testing.T) {
		evil := strings.Replace(testTemplate, `"restartPolicy": "Never",`, `"restartPolicy": "Never", "hostPID": true,`, 1)
		create(t, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "evil-pool", Labels: map[string]string{v1alpha1.LabelConfig: v1alpha1.ConfigPool}},
			Data:       map[string]string{v1alpha1.KeyPool: "name: p\nrunOverrides: [image, service_account_name]\n", v1alpha1.KeyJobTemplate: evil},
		})
		create(t, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "evil-limits", Labels: map[string]string{v1alpha1.LabelConfig: v1alpha1.ConfigLimits}},
			Data:       map[string]string{v1alpha1.KeyLimits: "- {tag: database, limit: 100000}\n"},
		})
		create(t, run("after-forgery", "deployment: hello/default\n"))
		waitState(t, ctx, e.ns, "after-forgery", v1alpha1.StateCompleted, 60*time.Second)
		job, err := cp.Client.BatchV1().Jobs(e.ns).Get(ctx, "after-forgery", metav1.GetOptions{})
		must(t, err)
		if job.Spec.Template.Spec.HostPID {
			t.Fatal("the run's Job has hostPID from a forged pool")
		}
		// The forged limit does not widen the tag's slot: of three runs
		// held for a while, one runs at a time.
		slow := "deployment: hello/db\njobVariables: {pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 4s}}\n"
		for i := range 3 {
			create(t, run(fmt.Sprintf("db-%d", i), slow))
		}
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			n := 0
			for i := range 3 {
				if j, err := cp.Client.BatchV1().Jobs(e.ns).Get(ctx, fmt.Sprintf("db-%d", i), metav1.GetOptions{}); err == nil && j.Status.CompletionTime == nil {
					n++
				}
			}
			if n > 1 {
				t.Fatalf("%d runs of tag database hold a slot at once; its limit is 1", n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("2 locked job variables are rejected", func(t *testing.T) {
		create(t, run("sa", "deployment: hello/default\njobVariables: {image: evil.example/x, node_selector: {a: b}}\n"))
		st := waitState(t, ctx, e.ns, "sa", v1alpha1.StateRejected, 30*time.Second)
		for _, want := range []string{`"image"`, "allowed: env, pod_annotations"} {
			if !strings.Contains(st.Message, want) {
				t.Errorf("rejection %q does not say %s", st.Message, want)
			}
		}
	})

	t.Run("3 a run named like another run's Job does not touch it", func(t *testing.T) {
		victim := "victim-" + strings.Repeat("v", 70)
		create(t, run(victim, "deployment: hello/default\njobVariables: {pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 20s}}\n"))
		waitState(t, ctx, e.ns, victim, v1alpha1.StateRunning, 30*time.Second)
		jobName := v1alpha1.JobName(victim)
		attacker := run(jobName, "deployment: hello/default\n")
		attacker.Annotations = map[string]string{v1alpha1.AnnotationCancel: "now"}
		create(t, attacker)
		st := waitFinal(t, ctx, e.ns, jobName, 30*time.Second)
		if st.State != v1alpha1.StateCancelled && st.State != v1alpha1.StateRejected {
			t.Errorf("the colliding run ended %s, want Cancelled or Rejected", st.State)
		}
		job, err := cp.Client.BatchV1().Jobs(e.ns).Get(ctx, jobName, metav1.GetOptions{})
		must(t, err)
		if job.DeletionTimestamp != nil {
			t.Fatal("the victim's Job was deleted by another run's cancel")
		}
		if s := runStatus(t, ctx, e.ns, victim); s.State.Final() {
			t.Fatalf("the victim run ended %s (%s)", s.State, s.Message)
		}
	})

	t.Run("4 a forged status is not taken", func(t *testing.T) {
		cm := run("forged-done", "deployment: hello/default\n")
		cm.Labels[v1alpha1.LabelState] = string(v1alpha1.StateCompleted)
		cm.Data[v1alpha1.KeyStatus] = "state: Completed\nendTime: \"2099-01-01T00:00:00Z\"\n"
		create(t, cm)
		waitJob(t, ctx, e.ns, "forged-done", 30*time.Second)
		got := waitState(t, ctx, e.ns, "forged-done", v1alpha1.StateCompleted, 60*time.Second)
		if got.JobName != "forged-done" {
			t.Errorf("status after the real run: %+v", got)
		}
	})

	t.Run("5 a Job deleted at once is never made again", func(t *testing.T) {
		create(t, run("vanish", "deployment: hello/default\njobVariables: {pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 30s}}\n"))
		job := waitJob(t, ctx, e.ns, "vanish", 30*time.Second)
		must(t, cp.Client.BatchV1().Jobs(e.ns).Delete(ctx, "vanish", metav1.DeleteOptions{}))
		st := waitFinal(t, ctx, e.ns, "vanish", 30*time.Second)
		if st.State != v1alpha1.StateCrashed {
			t.Errorf("run whose Job was deleted ended %s (%s), want Crashed", st.State, st.Message)
		}
		time.Sleep(2 * time.Second)
		if j, err := cp.Client.BatchV1().Jobs(e.ns).Get(ctx, "vanish", metav1.GetOptions{}); err == nil && j.UID != job.UID {
			t.Fatal("a second Job was created for the run")
		}
	})

	t.Run("7 input the API server refuses ends Rejected once", func(t *testing.T) {
		create(t, run("spaced", "deployment: hello world/default\n"))
		create(t, run("long-name", "deployment: hello/"+strings.Repeat("x", 70)+"\n"))
		big := run("big-params", "deployment: hello/default\nparameters: {blob: \""+strings.Repeat("b", 40<<10)+"\"}\n")
		create(t, big)
		imm := run("immutable", "deployment: hello/default\n")
		yes := true
		imm.Immutable = &yes
		create(t, imm)
		for _, name := range []string{"spaced", "long-name", "big-params"} {
			st := waitState(t, ctx, e.ns, name, v1alpha1.StateRejected, 30*time.Second)
			if len(st.Message) > 2100 {
				t.Errorf("%s: rejection message of %d bytes", name, len(st.Message))
			}
		}
		waitLabel(t, ctx, e.ns, "immutable", v1alpha1.StateRejected, 30*time.Second)
		// Rejected once: no write follows.
		before := map[string]string{}
		for _, name := range []string{"spaced", "long-name", "big-params", "immutable"} {
			cm, err := cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, name, metav1.GetOptions{})
			must(t, err)
			before[name] = cm.ResourceVersion
		}
		time.Sleep(3 * time.Second)
		for name, rv := range before {
			cm, err := cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, name, metav1.GetOptions{})
			must(t, err)
			if cm.ResourceVersion != rv {
				t.Errorf("%s was written again after its rejection", name)
			}
		}
	})

	t.Run("8 a 1 MB deployment name does not stall dispatch", func(t *testing.T) {
		// One over the run.yaml size limit, one just under it that
		// reaches the name check and the "did you mean" hint.
		start := time.Now()
		create(t, run("huge-name", "deployment: hello/"+strings.Repeat("d", 1_000_000)+"\n"))
		create(t, run("long-unknown", "deployment: hello/"+strings.Repeat("d", 60_000)+"\n"))
		names := burstNames("after-huge", 10)
		for _, name := range names {
			create(t, run(name, "deployment: hello/default\n"))
		}
		for _, name := range []string{"huge-name", "long-unknown"} {
			st := waitState(t, ctx, e.ns, name, v1alpha1.StateRejected, 30*time.Second)
			if len(st.Message) > 2100 {
				t.Errorf("%s: rejection message of %d bytes", name, len(st.Message))
			}
			t.Logf("%s Rejected %v after its create: %.120s", name, time.Since(start).Round(time.Millisecond), st.Message)
		}
		for _, name := range names {
			waitState(t, ctx, e.ns, name, v1alpha1.StateCompleted, 60*time.Second)
		}
		t.Logf("the 10 runs created after them all Completed %v after the first create", time.Since(start).Round(time.Millisecond))
	})

	t.Run("9 a comma in a tag is rejected", func(t *testing.T) {
		create(t, run("comma", "deployment: hello/default\ntags: [\"x,database\"]\n"))
		st := waitState(t, ctx, e.ns, "comma", v1alpha1.StateRejected, 30*time.Second)
		if !strings.Contains(st.Message, "comma") {
			t.Errorf("rejection %q does not name the comma", st.Message)
		}
	})

	t.Run("cancel by a cancel request", func(t *testing.T) {
		cm := create(t, run("to-cancel", "deployment: hello/default\njobVariables: {pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 60s}}\n"))
		waitState(t, ctx, e.ns, "to-cancel", v1alpha1.StateRunning, 30*time.Second)
		req, err := v1alpha1.NewCancelRequest(cm)
		must(t, err)
		create(t, req)
		waitState(t, ctx, e.ns, "to-cancel", v1alpha1.StateCancelled, 30*time.Second)
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := cp.Client.BatchV1().Jobs(e.ns).Get(ctx, "to-cancel", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatal("the cancelled run's Job is still there")
		}
	})
}

// runStatus reads a run's status as stored.
func runStatus(t *testing.T, ctx context.Context, ns, name string) *v1alpha1.RunStatus {
	t.Helper()
	return runStatusIn(t, ctx, cp.Client, ns, name)
}

// runStatusIn is runStatus on the cluster c talks to.
func runStatusIn(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, name string) *v1alpha1.RunStatus {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	must(t, err)
	if cm.Annotations[v1alpha1.AnnotationSignature] == "" {
		return &v1alpha1.RunStatus{} // not written by the reconciler yet
	}
	st, err := v1alpha1.DecodeRunStatus(cm.Data[v1alpha1.KeyStatus])
	must(t, err)
	return st
}

func waitState(t *testing.T, ctx context.Context, ns, name string, want v1alpha1.RunState, timeout time.Duration) *v1alpha1.RunStatus {
	t.Helper()
	return waitStateIn(t, ctx, cp.Client, ns, name, want, timeout)
}

// waitStateIn is waitState on the cluster c talks to.
func waitStateIn(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, name string, want v1alpha1.RunState, timeout time.Duration) *v1alpha1.RunStatus {
	t.Helper()
	var st *v1alpha1.RunStatus
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		st = runStatusIn(t, ctx, c, ns, name)
		return st.State == want || (st.State.Final() && st.State != want), nil
	})
	if err != nil || st.State != want {
		t.Fatalf("run %s: state %q (%s: %s), want %s", name, st.State, st.Reason, st.Message, want)
	}
	return st
}

func waitFinal(t *testing.T, ctx context.Context, ns, name string, timeout time.Duration) *v1alpha1.RunStatus {
	t.Helper()
	var st *v1alpha1.RunStatus
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		st = runStatus(t, ctx, ns, name)
		return st.State.Final(), nil
	})
	if err != nil {
		t.Fatalf("run %s did not end: state %q (%s)", name, st.State, st.Message)
	}
	return st
}

func waitLabel(t *testing.T, ctx context.Context, ns, name string, want v1alpha1.RunState, timeout time.Duration) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && cm.Labels[v1alpha1.LabelState] == string(want) && cm.Annotations[v1alpha1.AnnotationSignature] != "", nil
	})
	if err != nil {
		t.Fatalf("run %s: never labelled %s", name, want)
	}
}

func waitJob(t *testing.T, ctx context.Context, ns, name string, timeout time.Duration) *batchv1.Job {
	t.Helper()
	var job *batchv1.Job
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		j, err := cp.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		job = j
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("run %s: no Job after %v", name, timeout)
	}
	return job
}
