package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// testTemplate is a Prefect-format base job template with the knobs the
// tests need: pod annotations and labels (kwok reads its delays and
// failures from them), a node selector, and the pod watch timeout.
const testTemplate = `{
  "job_configuration": {
    "pod_watch_timeout_seconds": "{{ pod_watch_timeout_seconds }}",
    "job_manifest": {
      "apiVersion": "batch/v1",
      "kind": "Job",
      "metadata": {"namespace": "{{ namespace }}"},
      "spec": {
        "backoffLimit": 0,
        "template": {
          "metadata": {"annotations": "{{ pod_annotations }}", "labels": "{{ pod_labels }}"},
          "spec": {
            "restartPolicy": "Never",
            "nodeSelector": "{{ node_selector }}",
            "containers": [{"name": "flow", "image": "{{ image }}", "env": "{{ env }}"}]
          }
        }
      }
    }
  },
  "variables": {
    "type": "object",
    "properties": {
      "namespace": {"type": "string"},
      "name": {"type": "string"},
      "image": {"type": "string", "default": "example.com/flow:e2e"},
      "env": {"type": "object", "additionalProperties": {"type": "string"}},
      "pod_annotations": {"type": "object", "additionalProperties": {"type": "string"}},
      "pod_labels": {"type": "object", "additionalProperties": {"type": "string"}},
      "node_selector": {"type": "object", "additionalProperties": {"type": "string"}},
      "pod_watch_timeout_seconds": {"type": "integer", "default": 60}
    }
  }
}`

// burstProject has every kind of limit: pool, two queues, two tags and a
// deployment limit, all small enough to bind under a burst.
const burstProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: burst
namespace: NS
pools:
  - name: burst
    concurrencyLimit: 14
    baseJobTemplate: template.json
    jobVariables:
      pod_annotations:
        pod-complete.stage.kwok.x-k8s.io/delay: 300ms
    queues:
      - name: high
        priority: 1
        concurrencyLimit: 9
      - name: low
        priority: 5
        concurrencyLimit: 8
concurrencyLimits:
  - tag: red
    limit: 6
  - tag: blue
    limit: 7
deployments:
  - {flow: burst, name: a, entrypoint: a.py:f, pool: burst, queue: high, tags: [red], concurrencyLimit: 4}
  - {flow: burst, name: b, entrypoint: b.py:f, pool: burst, queue: high, tags: [blue]}
  - {flow: burst, name: c, entrypoint: c.py:f, pool: burst, queue: low, tags: [red, blue]}
  - {flow: burst, name: d, entrypoint: d.py:f, pool: burst, queue: low, concurrencyLimit: 3}
`

// burstLimits are burstProject's limits, keyed as limitKeys keys Jobs.
var burstLimits = map[string]int{
	"pool/burst": 14, "queue/burst/high": 9, "queue/burst/low": 8,
	"tag/red": 6, "tag/blue": 7, "deployment/burst/a": 4, "deployment/burst/d": 3,
}

// limitKeys names the limits a Job's run counts against, from the labels
// the reconciler puts on the Job and the deployments' tags.
func (e *env) limitKeys(job *batchv1.Job) []string {
	l := job.Labels
	flowName := strings.Replace(l[v1alpha1.LabelDeployment], ".", "/", 1)
	keys := []string{"pool/" + l[v1alpha1.LabelPool], "queue/" + l[v1alpha1.LabelPool] + "/" + l[v1alpha1.LabelQueue], "deployment/" + flowName}
	for _, d := range e.loaded.Deployments {
		if d.FullName() == flowName {
			for _, t := range d.Tags {
				keys = append(keys, "tag/"+t)
			}
		}
	}
	return keys
}

func burstNames(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return names
}

func burstRun(i int) string {
	return fmt.Sprintf("deployment: burst/%c\n", "abcd"[i%4])
}

// TestBurstRespectsEveryLimit: 300 runs over two queues and two tags, with
// pool, queue, deployment and tag limits. From a watch over the whole
// burst, the unfinished Jobs per limit never exceed it; every run ends
// Completed with exactly one Job; the high-priority queue starts first on
// average.
func TestBurstRespectsEveryLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, burstProject, map[string]string{"template.json": testTemplate})
	jw := e.watchJobs(ctx, burstLimits, e.limitKeys)
	e.startReconciler("")

	const n = 300
	start := time.Now()
	e.createRuns(ctx, burstNames("run", n), burstRun)
	created := time.Since(start)
	final := e.waitFor(ctx, 4*time.Minute, "every run to finish", allFinal(n))
	elapsed := time.Since(start)
	for name, st := range final {
		if st.State != v1alpha1.StateCompleted {
			t.Errorf("run %s ended %s (%s: %s)", name, st.State, st.Reason, st.Message)
		}
	}
	t.Logf("%d runs created in %v, all finished %v after the first create", n, created.Round(time.Millisecond), elapsed.Round(time.Millisecond))
	jw.report(t)
	if got := len(jw.added); got != n {
		t.Errorf("%d Jobs created for %d runs", got, n)
	}

	// Priority: high-queue runs start earlier on average.
	jw.mu.Lock()
	var sum = map[string]time.Duration{}
	var count = map[string]int{}
	for job, at := range jw.createdAt {
		q := "low"
		if strings.Contains(job, "-") {
			idx := job[len(job)-3:]
			var i int
			fmt.Sscanf(idx, "%d", &i)
			if i%4 < 2 {
				q = "high"
			}
		}
		sum[q] += at.Sub(start)
		count[q]++
	}
	jw.mu.Unlock()
	high, low := sum["high"]/time.Duration(count["high"]), sum["low"]/time.Duration(count["low"])
	t.Logf("mean Job start after the first create: high queue %v, low queue %v", high.Round(time.Millisecond), low.Round(time.Millisecond))
	if high >= low {
		t.Errorf("high-priority queue did not start first on average: high %v, low %v", high, low)
	}
}

// TestKillDuringBurst: kill -9 of the reconciler three times during a
// burst, then a restart: no duplicate Job, no lost run, no limit exceeded.
func TestKillDuringBurst(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, burstProject, map[string]string{"template.json": testTemplate})
	jw := e.watchJobs(ctx, burstLimits, e.limitKeys)

	const n = 200
	r := e.startReconciler("")
	e.createRuns(ctx, burstNames("run", n), burstRun)
	for i := 0; i < 3; i++ {
		// After the 1 s a new reconciler waits before its first pass: mid-burst.
		time.Sleep(time.Duration(1200+350*i) * time.Millisecond)
		r.Kill()
		t.Logf("kill -9 #%d: %s", i+1, summarize(e.statuses(ctx)))
		r = e.startReconciler("")
	}
	final := e.waitFor(ctx, 4*time.Minute, "every run to finish after the kills", allFinal(n))
	for name, st := range final {
		if st.State != v1alpha1.StateCompleted {
			t.Errorf("run %s ended %s (%s: %s)", name, st.State, st.Reason, st.Message)
		}
	}
	jw.report(t)
	if got := len(jw.added); got != n {
		t.Errorf("%d Jobs for %d runs", got, n)
	}
}

// TestAPIServerRestartDuringBurst: kube-apiserver restarted (same etcd,
// port and certificates) in the middle of a 300-run burst. The reconciler
// lives through it on client-go's retries and relists: no limit is
// exceeded, every run has exactly one Job and ends Completed.
func TestAPIServerRestartDuringBurst(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, burstProject, map[string]string{"template.json": testTemplate})
	jw := e.watchJobs(ctx, burstLimits, e.limitKeys)
	r := e.startReconciler("")

	const n = 300
	e.createRuns(ctx, burstNames("run", n), burstRun)
	// Mid-burst: some Jobs made, most runs still waiting for a slot.
	must(t, harness.WaitFor(ctx, time.Minute, func(context.Context) (bool, error) {
		jw.mu.Lock()
		defer jw.mu.Unlock()
		return len(jw.added) >= 30, nil
	}))
	t.Logf("before the restart: %s", summarize(e.statuses(ctx)))
	down, err := cp.RestartAPIServer(ctx)
	must(t, err)
	t.Logf("kube-apiserver away %v; after: %s", down.Round(time.Millisecond), summarize(e.statuses(ctx)))

	final := e.waitFor(ctx, 5*time.Minute, "every run to finish after the restart", allFinal(n))
	for name, st := range final {
		if st.State != v1alpha1.StateCompleted {
			t.Errorf("run %s ended %s (%s: %s)", name, st.State, st.Reason, st.Message)
		}
	}
	select {
	case <-r.Done():
		t.Error("the reconciler exited during the restart")
	default:
	}
	jw.report(t)
	jw.mu.Lock()
	defer jw.mu.Unlock()
	if got := len(jw.added); got != n {
		t.Errorf("%d Jobs for %d runs", got, n)
	}
	owners := map[string]bool{}
	for _, run := range jw.runs {
		owners[run] = true
	}
	if len(owners) != n {
		t.Errorf("%d runs have a Job, want %d", len(owners), n)
	}
}

// TestLeaderElection: two replicas with leader election; only the leader
// dispatches, and when it is killed the other takes over within the lease.
func TestLeaderElection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, burstProject, map[string]string{"template.json": testTemplate})
	le := []string{"--leader-elect", "--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms"}
	a := e.startReconciler("", append(le, "--id=a")...)
	b := e.startReconciler("", append(le, "--id=b")...)

	leader := func() string {
		l, err := cp.Client.CoordinationV1().Leases(e.ns).Get(ctx, "flows-reconciler", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	must(t, harness.WaitFor(ctx, 30*time.Second, func(context.Context) (bool, error) { return leader() != "", nil }))
	first := leader()
	e.createRuns(ctx, burstNames("one", 20), burstRun)
	e.waitFor(ctx, time.Minute, "the first runs", allFinal(20))

	leaders := 0
	for _, r := range []*reconciler{a, b} {
		if strings.Contains(r.LogText(), "became leader") {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d replicas became leader, want exactly 1", leaders)
	}

	old, standby := a, b
	if first == "b" {
		old, standby = b, a
	}
	old.Kill()
	killed := time.Now()
	e.createRuns(ctx, burstNames("two", 20), burstRun)
	must(t, harness.WaitFor(ctx, 30*time.Second, func(context.Context) (bool, error) {
		return strings.Contains(standby.LogText(), "became leader"), nil
	}))
	t.Logf("failover: the standby led %v after the leader was killed (lease 4s)", time.Since(killed).Round(time.Millisecond))
	if d := time.Since(killed); d > 8*time.Second {
		t.Errorf("failover took %v, want within the 4s lease plus a retry", d)
	}
	e.waitFor(ctx, time.Minute, "runs after failover", allFinal(40))

	// A clean stop releases the lease at once.
	standby.stop(t)
	if h := leader(); h != "" {
		t.Errorf("lease still held by %q after SIGTERM", h)
	}
}

// TestMalformedRunsAreRejected: each kind of bad run request ends Rejected
// with a reason naming the problem, while valid runs beside it complete.
func TestMalformedRunsAreRejected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: bad
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
deployments:
  - flow: hello
    name: default
    entrypoint: hello.py:hello
    pool: p
    parameters: {name: world}
    parameterSchema:
      type: object
      properties:
        name: {type: string}
        count: {type: integer}
`, map[string]string{"template.json": testTemplate})
	e.startReconciler("")

	bad := map[string]struct {
		data   map[string]string
		reason string
		msg    string
	}{
		"bad-yaml":       {map[string]string{v1alpha1.KeyRun: "deployment: [hello/default\n"}, "InvalidRunRequest", "not valid YAML"},
		"no-run-yaml":    {map[string]string{"other": "x"}, "InvalidRunRequest", "unexpected data key \"other\""},
		"unknown-key":    {map[string]string{v1alpha1.KeyRun: "deployment: hello/default\nparamaters: {}\n"}, "InvalidRunRequest", `unknown field "paramaters"`},
		"unknown-deploy": {map[string]string{v1alpha1.KeyRun: "deployment: hello/defualt\n"}, "DeploymentNotFound", "did you mean hello/default"},
		"bad-params":     {map[string]string{v1alpha1.KeyRun: "deployment: hello/default\nparameters: {count: many}\n"}, "InvalidParameters", `parameter "count": expected integer, got string`},
		"bad-jobvars":    {map[string]string{v1alpha1.KeyRun: "deployment: hello/default\njobVariables: {pod_watch_timeout_seconds: soon}\n"}, "InvalidJobVariables", "pod_watch_timeout_seconds"},
		"unknown-jobvar": {map[string]string{v1alpha1.KeyRun: "deployment: hello/default\njobVariables: {cpu: \"1\"}\n"}, "InvalidJobVariables", `"cpu"`},
		"not-flow-name":  {map[string]string{v1alpha1.KeyRun: "deployment: hello\n"}, "InvalidRunRequest", "flow/name"},
	}
	for name, b := range bad {
		e.createRaw(ctx, name, b.data)
	}
	for i := 0; i < 5; i++ {
		e.createRun(ctx, fmt.Sprintf("good-%d", i), "deployment: hello/default\nparameters: {count: 3}\n")
	}
	final := e.waitFor(ctx, time.Minute, "all runs to finish", allFinal(len(bad)+5))
	for name, b := range bad {
		st := final[name]
		if st.State != v1alpha1.StateRejected || st.Reason != b.reason || !strings.Contains(st.Message, b.msg) {
			t.Errorf("run %s: got %s %s %q, want Rejected %s containing %q", name, st.State, st.Reason, st.Message, b.reason, b.msg)
		}
	}
	for i := 0; i < 5; i++ {
		if st := final[fmt.Sprintf("good-%d", i)]; st.State != v1alpha1.StateCompleted {
			t.Errorf("good-%d: %s %s", i, st.State, st.Message)
		}
	}
}

// failureProject has deployments whose pods kwok fails, holds Running, or
// never schedules.
const failureProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: failures
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
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
  - flow: slow
    name: default
    entrypoint: x.py:f
    pool: p
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 10m}
  - flow: stuck
    name: default
    entrypoint: x.py:f
    pool: p
    jobVariables:
      node_selector: {harness.kubectl-flows.dev/no-such-node: "true"}
      pod_watch_timeout_seconds: 3
`

// TestFailuresCrashesAndCancel covers the unhappy endings: Failed with the
// Job's reason when kwok fails the pod, Crashed (and the Job deleted) when
// the pod cannot be scheduled within pod_watch_timeout_seconds, with the
// waiting reason shown before, and Cancelled for a Running run whose Job is
// deleted.
func TestFailuresCrashesAndCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, failureProject, map[string]string{"template.json": testTemplate})
	e.startReconciler("")
	e.createRun(ctx, "fails", "deployment: fail/default\n")
	e.createRun(ctx, "stuck", "deployment: stuck/default\n")
	e.createRun(ctx, "slow", "deployment: slow/default\n")

	// While the stuck run waits, its status says why.
	// Up to a minute: on a saturated API server a progress state is
	// written once it has lasted 30 s (--status-write-max-latency).
	e.waitFor(ctx, time.Minute, "stuck to show its waiting reason and slow to run", func(m map[string]*v1alpha1.RunStatus) bool {
		return m["stuck"].State == v1alpha1.StatePending && m["stuck"].Reason == "Unschedulable" && m["slow"].State == v1alpha1.StateRunning
	})
	cancelRun(t, ctx, e.ns, "slow")

	final := e.waitFor(ctx, time.Minute, "all three to finish", allFinal(3))
	if st := final["fails"]; st.State != v1alpha1.StateFailed || st.Reason != "BackoffLimitExceeded" {
		t.Errorf("fails: %s %s %s", st.State, st.Reason, st.Message)
	}
	if st := final["stuck"]; st.State != v1alpha1.StateCrashed || st.Reason != "Unschedulable" || !strings.Contains(st.Message, "pod_watch_timeout_seconds") {
		t.Errorf("stuck: %s %s %s", st.State, st.Reason, st.Message)
	}
	if st := final["slow"]; st.State != v1alpha1.StateCancelled {
		t.Errorf("slow: %s %s %s", st.State, st.Reason, st.Message)
	}
	// The Jobs of the crashed and the cancelled run are gone.
	must(t, harness.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		jobs, err := cp.Client.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, j := range jobs.Items {
			if (j.Name == final["stuck"].JobName || j.Name == final["slow"].JobName) && j.DeletionTimestamp == nil {
				return false, nil
			}
		}
		return true, nil
	}))
	events, err := cp.Client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=ConfigMap,involvedObject.name=fails"})
	must(t, err)
	reasons := map[string]bool{}
	for _, ev := range events.Items {
		reasons[ev.Reason] = true
	}
	// A run that failed gets a Warning; the routine steps of one that
	// ran (dispatched, started, completed) are told by its status alone.
	if !reasons["Failed"] || len(reasons) != 1 {
		t.Errorf("events on run fails: %v, want only Failed", reasons)
	}
}

func cancelRun(t *testing.T, ctx context.Context, ns, name string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"e2e"}}}`, v1alpha1.AnnotationCancel)
	_, err := cp.Client.CoreV1().ConfigMaps(ns).Patch(ctx, name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{})
	must(t, err)
}

// TestDeploymentLimitCancelNew: at its limit, a CancelNew deployment
// cancels new runs instead of queueing them.
func TestDeploymentLimitCancelNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: cancelnew
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 10s}
deployments:
  - {flow: one, name: at-a-time, entrypoint: x.py:f, pool: p, concurrencyLimit: 1, collisionStrategy: CancelNew}
`, map[string]string{"template.json": testTemplate})
	e.startReconciler("")
	e.createRun(ctx, "first", "deployment: one/at-a-time\n")
	// The slot is taken when first's Job is created. Its stored state may
	// never say so: a loaded reconciler skips the progress writes
	// (Pending) a run that simply starts would get.
	must(t, harness.WaitFor(ctx, 20*time.Second, func(ctx context.Context) (bool, error) {
		jobs, err := cp.Client.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return len(jobs.Items) == 1 && !jobFinished(&jobs.Items[0]), nil
	}))
	e.createRun(ctx, "second", "deployment: one/at-a-time\n")
	final := e.waitFor(ctx, 30*time.Second, "both to finish", allFinal(2))
	if final["first"].State != v1alpha1.StateCompleted || final["second"].State != v1alpha1.StateCancelled ||
		!strings.Contains(final["second"].Message, "concurrency limit") {
		t.Errorf("first %s, second %s (%s)", final["first"].State, final["second"].State, final["second"].Message)
	}
}

// TestScheduleFiresOncePerTickAcrossRestart: an interval schedule fires
// each tick exactly once, through a kill -9 and restart of the reconciler.
func TestScheduleFiresOncePerTickAcrossRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: sched
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
deployments:
  - flow: tick
    name: every-2s
    entrypoint: x.py:f
    pool: p
    schedules:
      - interval: 2s
`, map[string]string{"template.json": testTemplate})
	r := e.startReconciler("")
	time.Sleep(5 * time.Second)
	r.Kill()
	r = e.startReconciler("")
	time.Sleep(5 * time.Second)
	r.stop(t)

	list, err := cp.Client.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelSchedule})
	must(t, err)
	var ticks []time.Time
	seen := map[time.Time]bool{}
	for _, cm := range list.Items {
		req, err := v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun])
		must(t, err)
		tick := req.ScheduledTime.Time
		if seen[tick] {
			t.Errorf("tick %v fired twice", tick)
		}
		seen[tick] = true
		ticks = append(ticks, tick)
	}
	if len(ticks) < 4 {
		t.Fatalf("only %d ticks fired in ~10s of a 2s schedule", len(ticks))
	}
	sortTimes(ticks)
	for i := 1; i < len(ticks); i++ {
		if gap := ticks[i].Sub(ticks[i-1]); gap != 2*time.Second {
			t.Errorf("ticks %v and %v are %v apart: a tick was missed", ticks[i-1], ticks[i], gap)
		}
	}
	t.Logf("%d ticks, each once, none missed across the restart", len(ticks))
}

func sortTimes(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// TestRenderedRBACIsEnough: the reconciler runs with the rendered
// ServiceAccount's own credentials through dispatch, failure, crash,
// cancel and events, with no Forbidden error.
func TestRenderedRBACIsEnough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, failureProject, map[string]string{"template.json": testTemplate})
	kc := e.installRBAC(ctx)
	r := e.startReconciler(kc, "--leader-elect", "--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms")
	e.createRun(ctx, "fails", "deployment: fail/default\n")
	e.createRun(ctx, "stuck", "deployment: stuck/default\n")
	e.createRun(ctx, "slow", "deployment: slow/default\n")
	e.createRun(ctx, "bad", "deployment: nope/nope\n")
	e.waitFor(ctx, time.Minute, "slow to run", func(m map[string]*v1alpha1.RunStatus) bool { return m["slow"].State == v1alpha1.StateRunning }) // see TestFailuresCrashesAndCancel
	cancelRun(t, ctx, e.ns, "slow")
	e.waitFor(ctx, time.Minute, "all to finish", allFinal(4))
	if log := r.LogText(); strings.Contains(log, "forbidden") || strings.Contains(log, "Forbidden") {
		t.Errorf("the reconciler hit RBAC errors with the rendered Role:\n%s", tail([]byte(log), 4096))
	}

	// And no more than needed: the ServiceAccount cannot read Secrets or
	// touch anything outside its namespace.
	cfg, err := cp.RESTConfigForServiceAccount(ctx, e.ns, "flows-reconciler")
	must(t, err)
	sa, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	if _, err := sa.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the reconciler's ServiceAccount can list Secrets: %v", err)
	}
	if _, err := sa.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the reconciler's ServiceAccount can list ConfigMaps outside its namespace: %v", err)
	}
}

// TestRetentionAndMetrics: finished runs beyond the pool's retention count
// are deleted, and /metrics, /healthz and /readyz serve.
func TestRetentionAndMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: retention
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    concurrencyLimit: 2
    runRetention: {count: 3}
deployments:
  - {flow: keep, name: three, entrypoint: x.py:f, pool: p}
`, map[string]string{"template.json": testTemplate})
	metrics, health := freeAddr(t), freeAddr(t)
	e.startReconciler("", "--retention-interval=1s", "--metrics-bind-address="+metrics, "--health-probe-bind-address="+health)
	e.createRuns(ctx, burstNames("r", 8), func(int) string { return "deployment: keep/three\n" })
	e.waitFor(ctx, time.Minute, "three finished runs kept, the rest pruned", func(m map[string]*v1alpha1.RunStatus) bool {
		return len(m) == 3 && allFinal(3)(m)
	})

	for _, path := range []string{"/healthz", "/readyz"} {
		if body := httpGet(t, "http://"+health+path); !strings.Contains(body, "ok") {
			t.Errorf("%s: %q", path, body)
		}
	}
	// The gauges are set by the reconciler's passes, which may come a
	// moment after the last status write the wait above saw.
	wants := []string{
		`flows_runs{state="Completed"} 3`,
		`flows_slots_limit{kind="pool",name="p"} 2`,
		`flows_slots_in_use{kind="pool",name="p"} 0`,
		`flows_dispatch_latency_seconds_count 8`,
		`flows_jobs_created_total 8`,
	}
	var body string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		body = httpGet(t, "http://"+metrics+"/metrics")
		if !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(body, w) }) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "flows_") {
					t.Log(l)
				}
			}
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().String()
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var body string
	must(t, harness.WaitFor(context.Background(), 10*time.Second, func(context.Context) (bool, error) {
		resp, err := http.Get(url)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK, nil
	}))
	return body
}
