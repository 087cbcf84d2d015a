package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/examples/monitoring/promcheck"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// notifyProject sends Failed, Crashed, Rejected and SLA notifications of
// every deployment to the webhook of Secret flows-webhook. Runs of
// fail/default fail; runs of held/default stay Pending (their pod is never
// scheduled), past their SLA's maxLateness; runs of ok/default complete.
const notifyProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: notify
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    concurrencyLimit: 10
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 300ms}
notifications:
  - name: hook
    secret: flows-webhook
    events: [Failed, Crashed, Rejected, SLA]
    dashboardURL: http://127.0.0.1:9999
deployments:
  - flow: fail
    name: default
    entrypoint: x.py:f
    pool: p
    jobVariables:
      pod_labels: {pod-container-running-failed.stage.kwok.x-k8s.io: "true"}
      pod_annotations:
        pod-container-running-failed.stage.kwok.x-k8s.io/delay: 500ms
        pod-container-running-failed.stage.kwok.x-k8s.io/exit-code: "1"
  - flow: held
    name: default
    entrypoint: x.py:f
    pool: p
    sla: {maxLateness: 10s}
    jobVariables:
      node_selector: {harness.kubectl-flows.dev/no-such-node: "true"}
      pod_watch_timeout_seconds: 600
  - {flow: ok, name: default, entrypoint: x.py:f, pool: p}
`

// receiver is a webhook on 127.0.0.1 that records what it is sent and
// checks each signature with the key of the target's Secret, as a
// receiver of kubectl-flows' notifications would.
type receiver struct {
	t    *testing.T
	key  []byte
	addr string

	mu     sync.Mutex
	srv    *http.Server
	answer int
	got    []received
}

type received struct {
	at          time.Time
	key, event  string
	signatureOK bool
	status      int // what the receiver answered
	body        map[string]any
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{t: t, key: make([]byte, 32), answer: http.StatusOK}
	_, _ = rand.Read(r.key)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	m := hmac.New(sha256.New, r.key)
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	rec := received{at: time.Now(), key: req.Header.Get("Idempotency-Key"), event: req.Header.Get("X-Flows-Event"),
		signatureOK: hmac.Equal([]byte(want), []byte(req.Header.Get("X-Flows-Signature-256")))}
	_ = json.Unmarshal(body, &rec.body)
	r.mu.Lock()
	rec.status = r.answer
	r.got = append(r.got, rec)
	r.mu.Unlock()
	w.WriteHeader(rec.status)
}

// down closes the receiver's port: deliveries are refused.
func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// up listens again on the same port.
func (r *receiver) up() {
	r.t.Helper()
	var ln net.Listener
	must(r.t, harness.WaitFor(context.Background(), 10*time.Second, func(context.Context) (bool, error) {
		var err error
		ln, err = net.Listen("tcp", r.addr)
		return err == nil, nil
	}))
	r.serve(ln)
}

func (r *receiver) setAnswer(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = code
}

// requests returns what the receiver was sent for keys with the prefix.
func (r *receiver) requests(prefix string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, g := range r.got {
		if strings.HasPrefix(g.key, prefix) {
			out = append(out, g)
		}
	}
	return out
}

// accepted are the requests for keys with the prefix that the receiver
// answered 2xx, and the distinct keys among them: what a receiver that
// deduplicates by key takes in.
func (r *receiver) accepted(prefix string) ([]received, map[string]bool) {
	var out []received
	keys := map[string]bool{}
	for _, g := range r.requests(prefix) {
		if g.status < 300 {
			out = append(out, g)
			keys[g.key] = true
		}
	}
	return out, keys
}

// waitAccepted waits for a 2xx delivery of a key with the prefix.
func (r *receiver) waitAccepted(prefix string, timeout time.Duration) received {
	r.t.Helper()
	var got received
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		acc, _ := r.accepted(prefix)
		if len(acc) > 0 {
			got = acc[0]
		}
		return len(acc) > 0, nil
	})
	if err != nil {
		r.t.Fatalf("no notification for %s delivered within %v; requests: %+v", prefix, timeout, r.requests(""))
	}
	return got
}

// webhookSecret creates the target's Secret, pointing at the receiver.
func (e *env) webhookSecret(ctx context.Context, r *receiver) {
	e.t.Helper()
	_, err := cp.Client.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "flows-webhook"},
		Data:       map[string][]byte{"url": []byte("http://" + r.addr + "/hook"), "signing-key": r.key},
	}, metav1.CreateOptions{})
	must(e.t, err)
}

func runUID(t *testing.T, ctx context.Context, ns, name string) string {
	t.Helper()
	cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	must(t, err)
	return string(cm.UID)
}

// waitRecorded waits for the run's status to record the notification
// delivered.
func waitRecorded(t *testing.T, ctx context.Context, ns, run, event string) {
	t.Helper()
	var st *v1alpha1.RunStatus
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		st = runStatus(t, ctx, ns, run)
		for _, r := range st.Notifications {
			if r.Target == "hook" && r.Event == event && r.Delivered != nil {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("run %s: the status never recorded %s delivered: %+v", run, event, st.Notifications)
	}
}

// TestNotifyFailedRun: a failing run notifies the operator's webhook once
// (after deduplication by key) within 5 s of its end, signed with the key
// of the target's Secret, and the status records it delivered; a run that
// completes notifies nobody. Then, as a submitter: a run request naming a
// webhook changes nothing (the attacker's receiver hears nothing), a
// run's own values cannot redirect its notification, a status forged with
// the notification marked delivered does not stop it, and the submitter
// can neither read nor create the Secret. Every series the PrometheusRule
// and the dashboard query is then on the reconciler's /metrics.
func TestNotifyFailedRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, notifyProject, map[string]string{"template.json": testTemplate})
	hook, evil := newReceiver(t), newReceiver(t)
	e.webhookSecret(ctx, hook)
	metrics := freeAddr(t)
	kc := e.installRBAC(ctx) // the rendered Role: it must let the reconciler read the Secret
	r := e.startReconciler(kc, "--metrics-bind-address="+metrics)
	_, sub := e.bindUser(ctx, "flows-submitter", "mallory")

	e.createRun(ctx, "ok", "deployment: ok/default\n")
	e.createRun(ctx, "fails", "deployment: fail/default\n")
	st := waitState(t, ctx, e.ns, "fails", v1alpha1.StateFailed, time.Minute)
	uid := runUID(t, ctx, e.ns, "fails")
	got := hook.waitAccepted(uid+"/", 30*time.Second)
	late := got.at.Sub(st.EndTime.Time)
	t.Logf("notification of the failed run delivered %v after its end (end time has second precision)", late.Round(time.Millisecond))
	if late > 5*time.Second {
		t.Errorf("delivered %v after the run ended, want within 5 s", late)
	}
	if !got.signatureOK {
		t.Errorf("the signature does not verify with the Secret's key")
	}
	for k, want := range map[string]any{
		"key": uid + "/Failed", "event": "Failed", "run": "fails", "deployment": "fail/default",
		"state": "Failed", "reason": "BackoffLimitExceeded", "namespace": e.ns,
		"link": "http://127.0.0.1:9999/runs/fails",
	} {
		if got.body[k] != want {
			t.Errorf("body %s = %v, want %v", k, got.body[k], want)
		}
	}
	waitRecorded(t, ctx, e.ns, "fails", "Failed")

	t.Run("a run request naming a webhook changes nothing", func(t *testing.T) {
		create := func(cm *corev1.ConfigMap) {
			t.Helper()
			_, err := sub.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{})
			must(t, err)
		}
		run := func(name, runYAML string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1alpha1.LabelRun: "true"}},
				Data: map[string]string{v1alpha1.KeyRun: runYAML}}
		}
		evilURL := "http://" + evil.addr + "/steal"
		create(run("names-webhook", fmt.Sprintf("deployment: fail/default\nnotifications: [{name: hook, secret: flows-webhook, events: [Failed], url: %q}]\n", evilURL)))
		create(run("env-webhook", fmt.Sprintf("deployment: fail/default\njobVariables: {env: {FLOWS_WEBHOOK: %q}}\n", evilURL)))
		// A status forged as Failed with its notification marked
		// delivered (and a signature the reconciler never made).
		forged := run("forged-delivered", "deployment: fail/default\n")
		forged.Labels[v1alpha1.LabelState] = "Failed"
		forged.Annotations = map[string]string{v1alpha1.AnnotationSignature: "forged"}
		forged.Data[v1alpha1.KeyStatus] = "state: Failed\nnotifications:\n- {target: hook, event: Failed, delivered: \"2026-01-01T00:00:00Z\"}\n"
		create(forged)

		if st := waitFinal(t, ctx, e.ns, "names-webhook", time.Minute); st.State != v1alpha1.StateRejected || !strings.Contains(st.Message, "notifications") {
			t.Errorf("names-webhook: %s %s", st.State, st.Message)
		}
		waitState(t, ctx, e.ns, "env-webhook", v1alpha1.StateFailed, time.Minute)
		waitState(t, ctx, e.ns, "forged-delivered", v1alpha1.StateFailed, time.Minute)
		for _, name := range []string{"env-webhook", "forged-delivered"} {
			hook.waitAccepted(runUID(t, ctx, e.ns, name)+"/Failed", 30*time.Second)
			waitRecorded(t, ctx, e.ns, name, "Failed")
		}
		if _, err := sub.CoreV1().Secrets(e.ns).Get(ctx, "flows-webhook", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("the submitter reads the webhook Secret: %v", err)
		}
		_, err := sub.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "evil-webhook"},
			StringData: map[string]string{"url": evilURL}}, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("the submitter creates a Secret: %v", err)
		}
		time.Sleep(2 * time.Second) // anything on its way to the attacker lands
		if got := evil.requests(""); len(got) > 0 {
			t.Errorf("the attacker's webhook was sent %d requests: %+v", len(got), got)
		}
	})

	// Exactly one notification per event after deduplication, none for
	// the completed run, and no repeat once recorded.
	time.Sleep(3 * time.Second)
	acc, keys := hook.accepted(uid + "/")
	if len(keys) != 1 {
		t.Errorf("the failed run's notifications, distinct keys: %v, want one", keys)
	}
	t.Logf("the failed run's notification was delivered %d times (%d distinct key)", len(acc), len(keys))
	if ok := hook.requests(runUID(t, ctx, e.ns, "ok") + "/"); len(ok) > 0 {
		t.Errorf("the completed run notified: %+v", ok)
	}
	if log := r.LogText(); strings.Contains(log, "forbidden") {
		t.Errorf("RBAC errors with the rendered Role:\n%s", tail([]byte(log), 4096))
	}

	t.Run("every series the monitoring examples query is on /metrics", func(t *testing.T) {
		have := scrapeSeries(t, "http://"+metrics+"/metrics")
		alerts, err := promcheck.Alerts()
		must(t, err)
		panels, err := promcheck.Dashboard()
		must(t, err)
		for _, q := range append(alerts, panels...) {
			if _, problems := promcheck.Check(q, have); len(problems) > 0 {
				t.Errorf("%v", problems)
			}
		}
	})
}

// scrapeSeries reads the series names and label names of a /metrics page.
func scrapeSeries(t *testing.T, url string) promcheck.Series {
	t.Helper()
	out := promcheck.Series{}
	for _, line := range strings.Split(httpGet(t, url), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if _, seen := out[name]; !seen {
			out[name] = nil
		}
		if labels, _, ok := strings.Cut(rest, "}"); ok {
			for _, kv := range strings.Split(labels, ",") {
				if k, _, ok := strings.Cut(kv, "="); ok && !slices.Contains(out[name], k) {
					out[name] = append(out[name], k)
				}
			}
		}
	}
	return out
}

// TestNotifyAfterLeaderKilled: the leader cannot deliver (the webhook
// answers 503) and is killed with SIGKILL; the standby, once it leads,
// delivers the notification from what the run's status owes.
func TestNotifyAfterLeaderKilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, notifyProject, map[string]string{"template.json": testTemplate})
	hook := newReceiver(t)
	hook.setAnswer(http.StatusServiceUnavailable)
	e.webhookSecret(ctx, hook)
	le := []string{"--leader-elect", "--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms"}
	a := e.startReconciler("", append(le, "--id=a")...)
	b := e.startReconciler("", append(le, "--id=b")...)

	e.createRun(ctx, "fails", "deployment: fail/default\n")
	waitState(t, ctx, e.ns, "fails", v1alpha1.StateFailed, time.Minute)
	uid := runUID(t, ctx, e.ns, "fails")
	must(t, harness.WaitFor(ctx, 30*time.Second, func(context.Context) (bool, error) {
		return len(hook.requests(uid+"/")) > 0, nil
	}))
	lease, err := cp.Client.CoordinationV1().Leases(e.ns).Get(ctx, "flows-reconciler", metav1.GetOptions{})
	must(t, err)
	leader, standby := a, b
	if *lease.Spec.HolderIdentity == "b" {
		leader, standby = b, a
	}
	leader.Kill()
	killed := time.Now()
	hook.setAnswer(http.StatusOK)
	got := hook.waitAccepted(uid+"/", 60*time.Second)
	t.Logf("delivered %v after the leader was killed (lease 4 s); %d refused tries before",
		got.at.Sub(killed).Round(time.Millisecond), len(hook.requests(uid+"/"))-1)
	if !strings.Contains(standby.LogText(), "became leader") {
		t.Errorf("the standby never led")
	}
	if !got.signatureOK || got.key != uid+"/Failed" {
		t.Errorf("delivered %s, signature ok %v", got.key, got.signatureOK)
	}
	waitRecorded(t, ctx, e.ns, "fails", "Failed")
	time.Sleep(2 * time.Second)
	if _, keys := hook.accepted(uid + "/"); len(keys) != 1 {
		t.Errorf("distinct keys delivered: %v, want one", keys)
	}
}

// TestNotifyReceiverDown: the webhook's port is closed when the run fails
// and for 10 s after; the notification arrives once it listens again.
func TestNotifyReceiverDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, notifyProject, map[string]string{"template.json": testTemplate})
	hook := newReceiver(t)
	e.webhookSecret(ctx, hook)
	hook.down()
	r := e.startReconciler("", "--notification-retry-for=2m")
	e.createRun(ctx, "fails", "deployment: fail/default\n")
	st := waitState(t, ctx, e.ns, "fails", v1alpha1.StateFailed, time.Minute)
	uid := runUID(t, ctx, e.ns, "fails")
	time.Sleep(time.Until(st.EndTime.Add(10 * time.Second)))
	hook.up()
	back := time.Now()
	got := hook.waitAccepted(uid+"/", 45*time.Second)
	t.Logf("delivered %v after the webhook came back (down for 10 s from the run's end)", got.at.Sub(back).Round(time.Millisecond))
	if !got.signatureOK {
		t.Errorf("signature does not verify")
	}
	if !strings.Contains(r.LogText(), "retrying") {
		t.Errorf("the reconciler's log shows no retry")
	}
	waitRecorded(t, ctx, e.ns, "fails", "Failed")
}

// TestNotifySLAHeldPending: a run held Pending (its pod is never
// scheduled) breaches its deployment's maxLateness of 10 s: one
// SLA/maxLateness notification, recorded, and no repeat.
func TestNotifySLAHeldPending(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, notifyProject, map[string]string{"template.json": testTemplate})
	hook := newReceiver(t)
	e.webhookSecret(ctx, hook)
	e.startReconciler("")
	e.createRun(ctx, "held", "deployment: held/default\n")
	waitState(t, ctx, e.ns, "held", v1alpha1.StatePending, time.Minute)
	uid := runUID(t, ctx, e.ns, "held")
	got := hook.waitAccepted(uid+"/", 40*time.Second)
	st := runStatus(t, ctx, e.ns, "held")
	after := got.at.Sub(st.ScheduledTime.Time)
	t.Logf("SLA notification %v after the run's scheduled time (maxLateness 10 s)", after.Round(time.Millisecond))
	if got.key != uid+"/SLA/maxLateness" || !got.signatureOK {
		t.Errorf("delivered %s, signature ok %v", got.key, got.signatureOK)
	}
	if after < 9*time.Second { // scheduled time has second precision
		t.Errorf("fired %v after the scheduled time, before maxLateness", after)
	}
	waitRecorded(t, ctx, e.ns, "held", "SLA/maxLateness")
	time.Sleep(5 * time.Second)
	if acc, keys := hook.accepted(uid + "/"); len(acc) != 1 || len(keys) != 1 {
		t.Errorf("deliveries %d, distinct keys %v: want exactly one", len(acc), keys)
	}
	if st := runStatus(t, ctx, e.ns, "held"); st.State != v1alpha1.StatePending {
		t.Errorf("held: %s", st.State)
	}
}
