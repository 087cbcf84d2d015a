package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// noLimits is a jobWatch's limit keys when a test checks no limit.
func noLimits(*batchv1.Job) []string { return nil }

// evictFirstAttempts evicts, through the Eviction API, every pod of a
// run's first attempt once it runs, each once, until ctx ends; it returns
// how many it evicted when asked.
func evictFirstAttempts(ctx context.Context, t *testing.T, ns string) func() int {
	var mu sync.Mutex
	evicted := map[string]bool{}
	go func() {
		for ctx.Err() == nil {
			pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunName})
			if err == nil {
				for _, p := range pods.Items {
					job := p.Labels[v1alpha1.LabelRunName]
					mu.Lock()
					done := evicted[job]
					mu.Unlock()
					if done || strings.Contains(job, "-attempt-") || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
						continue
					}
					mu.Lock()
					evicted[job] = true // until it fails
					mu.Unlock()
					go func(pod, job string) {
						if err := harness.Evict(ctx, cp.Client, ns, pod); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
							t.Logf("evicting %s: %v (tried again)", pod, err)
							mu.Lock()
							delete(evicted, job)
							mu.Unlock()
						}
					}(p.Name, job)
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(evicted)
	}
}

const retriesProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: retries
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 8s}
deployments:
  - flow: evict
    name: default
    entrypoint: a.py:f
    pool: p
    retries: {attempts: 3, delay: 3s, on: [Evicted]}
`

// TestEvictedRunsCompleteOnTheirSecondAttempt: runs whose first pod is
// evicted (the Eviction API, DisruptionTarget) all complete on their
// second attempt, each attempt a Job of its own made once, through three
// kill -9s of the reconciler while runs wait out their back-off. (The
// issue asks for 200 runs; 40 keep the test under a minute here.)
func TestEvictedRunsCompleteOnTheirSecondAttempt(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, retriesProject, map[string]string{"template.json": testTemplate})
	jw := e.watchJobs(ctx, nil, noLimits)
	evicted := evictFirstAttempts(ctx, t, e.ns)
	r := e.startReconciler("")

	const n = 40
	names := burstNames("ev", n)
	e.createRuns(ctx, names, func(int) string { return "deployment: evict/default\n" })
	for i := 0; i < 3; i++ {
		// Spread over the burst: 10, 20, then 30 runs past their first
		// attempt, one at least in its back-off.
		e.waitFor(ctx, time.Minute, "runs to wait out their back-off", func(m map[string]*v1alpha1.RunStatus) bool {
			backingOff, past := 0, 0
			for _, st := range m {
				if st.AwaitingRetry() {
					backingOff++
				}
				if st.CurrentAttempt() > 1 {
					past++
				}
			}
			return backingOff > 0 && past >= 10*(i+1)
		})
		r.Kill()
		t.Logf("kill -9 #%d during back-off: %s, %d evicted", i+1, summarize(e.statuses(ctx)), evicted())
		r = e.startReconciler("")
		time.Sleep(1500 * time.Millisecond) // past its 1 s startup grace: it works before the next kill
	}
	final := e.waitFor(ctx, 3*time.Minute, "every run to finish", allFinal(n))

	for name, st := range final {
		outcomes := make([]string, len(st.Attempts))
		for i, a := range st.Attempts {
			outcomes[i] = a.Outcome
		}
		if st.State != v1alpha1.StateCompleted || strings.Join(outcomes, ",") != "Evicted,Completed" || st.CurrentAttempt() != 2 {
			t.Errorf("run %s: %s (%s) after attempts %v, want Completed on attempt 2 after Evicted", name, st.State, st.Reason, outcomes)
		}
	}
	checkAttemptJobs(t, jw, names, 2)
}

// checkAttemptJobs checks that each run had exactly the Jobs of attempts
// 1..attempts, each created once.
func checkAttemptJobs(t *testing.T, jw *jobWatch, runs []string, attempts int32) {
	t.Helper()
	jw.mu.Lock()
	defer jw.mu.Unlock()
	perRun := map[string][]string{}
	for job, count := range jw.added {
		if count != 1 {
			t.Errorf("Job %s created %d times", job, count)
		}
		perRun[jw.runs[job]] = append(perRun[jw.runs[job]], job)
	}
	for _, run := range runs {
		var want []string
		for a := int32(1); a <= attempts; a++ {
			want = append(want, v1alpha1.AttemptJobName(run, a))
		}
		got := perRun[run]
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("run %s had Jobs %v, want %v", run, got, want)
		}
	}
}

const backOffProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: backoff
namespace: NS
pools:
  - name: one
    concurrencyLimit: 1
    baseJobTemplate: template.json
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 1h}
deployments:
  - {flow: held, name: default, entrypoint: a.py:f, pool: one, retries: {attempts: 2, delay: 1m, on: [Evicted]}}
  - {flow: next, name: default, entrypoint: a.py:f, pool: one}
`

// TestBackOffFreesSlot: a run backing off after an eviction holds no slot:
// the run waiting for the pool's only slot takes it within 2 s of the
// evicted attempt's Job failing.
func TestBackOffFreesSlot(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, backOffProject, map[string]string{"template.json": testTemplate})
	e.startReconciler("")
	e.createRun(ctx, "held", "deployment: held/default\n")
	e.waitFor(ctx, time.Minute, "held to run", func(m map[string]*v1alpha1.RunStatus) bool { return m["held"].State == v1alpha1.StateRunning })
	e.createRun(ctx, "waiting", "deployment: next/default\n")
	e.waitFor(ctx, time.Minute, "waiting to wait for the slot", func(m map[string]*v1alpha1.RunStatus) bool { return m["waiting"].Reason == "WaitingForSlot" })
	evictFirstAttempts(ctx, t, e.ns)

	var failedAt, createdAt time.Time
	must(t, harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		jobs, err := cp.Client.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		now := time.Now()
		for _, j := range jobs.Items {
			switch {
			case j.Name == "held" && jobFinished(&j) && failedAt.IsZero():
				failedAt = now
			case j.Name == "waiting" && createdAt.IsZero():
				createdAt = now
			}
		}
		return !failedAt.IsZero() && !createdAt.IsZero(), nil
	}))
	took := createdAt.Sub(failedAt)
	t.Logf("the waiting run's Job was made %v after the evicted attempt's Job failed (polled every 50 ms)", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("the waiting run took the freed slot %v after the back-off began, want within 2s", took)
	}
	st := e.statuses(ctx)["held"]
	if !st.AwaitingRetry() || st.CurrentAttempt() != 2 {
		t.Errorf("held: %s %s (attempt %d), want Retrying attempt 2", st.State, st.Reason, st.CurrentAttempt())
	}
}

const outcomesProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: outcomes
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    jobVariables:
      pod_watch_timeout_seconds: 30
deployments:
  - flow: exit
    name: never
    entrypoint: a.py:f
    pool: p
    retries: {attempts: 3, delay: 1s, neverOnExitCodes: [3]}
    jobVariables:
      pod_labels: {pod-container-running-failed.stage.kwok.x-k8s.io: "true"}
      pod_annotations: {pod-container-running-failed.stage.kwok.x-k8s.io/delay: 1s, pod-container-running-failed.stage.kwok.x-k8s.io/exit-code: "3"}
  - flow: exit
    name: other
    entrypoint: a.py:f
    pool: p
    retries: {attempts: 2, delay: 1s, neverOnExitCodes: [3]}
    jobVariables:
      pod_labels: {pod-container-running-failed.stage.kwok.x-k8s.io: "true"}
      pod_annotations: {pod-container-running-failed.stage.kwok.x-k8s.io/delay: 1s, pod-container-running-failed.stage.kwok.x-k8s.io/exit-code: "4"}
  - flow: crash
    name: retried
    entrypoint: a.py:f
    pool: p
    retries: {attempts: 2, delay: 1s, on: [Crashed]}
    jobVariables:
      node_selector: {harness.kubectl-flows.dev/no-such-node: "true"}
      pod_watch_timeout_seconds: 2
  - flow: crash
    name: not
    entrypoint: a.py:f
    pool: p
    retries: {attempts: 2, delay: 1s, on: [Evicted, Failed]}
    jobVariables:
      node_selector: {harness.kubectl-flows.dev/no-such-node: "true"}
      pod_watch_timeout_seconds: 2
`

// TestRetryOutcomes: an exit code the policy never retries ends the run
// after one attempt, another exit code is retried; a pod that never
// starts (Crashed) is retried when on lists Crashed, and not otherwise.
func TestRetryOutcomes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, outcomesProject, map[string]string{"template.json": testTemplate})
	jw := e.watchJobs(ctx, nil, noLimits)
	e.startReconciler("")
	runs := map[string]string{"never": "exit/never", "other": "exit/other", "crash-retried": "crash/retried", "crash-not": "crash/not"}
	for name, d := range runs {
		e.createRun(ctx, name, "deployment: "+d+"\n")
	}
	final := e.waitFor(ctx, 2*time.Minute, "every run to finish", allFinal(len(runs)))

	type want struct {
		state    v1alpha1.RunState
		outcomes string
		exit     int32
	}
	for name, w := range map[string]want{
		"never":         {v1alpha1.StateFailed, "Failed", 3},
		"other":         {v1alpha1.StateFailed, "Failed,Failed", 4},
		"crash-retried": {v1alpha1.StateCrashed, "Crashed,Crashed", 0},
		"crash-not":     {v1alpha1.StateCrashed, "Crashed", 0},
	} {
		st := final[name]
		var outcomes []string
		for _, a := range st.Attempts {
			outcomes = append(outcomes, a.Outcome)
			if w.exit != 0 && (a.ExitCode == nil || *a.ExitCode != w.exit) {
				t.Errorf("run %s attempt %d: exit code %v, want %d", name, a.Attempt, a.ExitCode, w.exit)
			}
		}
		if st.State != w.state || strings.Join(outcomes, ",") != w.outcomes {
			t.Errorf("run %s: %s (%s: %s) after attempts %v; want %s after %s", name, st.State, st.Reason, st.Message, outcomes, w.state, w.outcomes)
		}
		checkAttemptJobs(t, jw, []string{name}, int32(len(st.Attempts)))
	}
}

const timeoutProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: timeout
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
deployments:
  - flow: slow
    name: default
    entrypoint: a.py:f
    pool: p
    timeout: 10s
    jobVariables:
      pod_annotations: {pod-ready.stage.kwok.x-k8s.io/delay: 10s, pod-complete.stage.kwok.x-k8s.io/delay: 1h}
`

// TestRunTimeoutFromPodStart: a run whose pod takes 10 s to start
// (ContainerCreating) and whose timeout is 10 s ends Failed, TimedOut, 10 s
// after its container started, not 10 s after its Job was made; its Job is
// deleted. (The 60 s timeout after 30 s pending, scaled down.)
func TestRunTimeoutFromPodStart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, timeoutProject, map[string]string{"template.json": testTemplate})
	e.startReconciler("")
	e.createRun(ctx, "slow", "deployment: slow/default\n")
	st := e.waitFor(ctx, time.Minute, "the run to end", allFinal(1))["slow"]
	if st.State != v1alpha1.StateFailed || st.Reason != "TimedOut" {
		t.Fatalf("run: %s %s: %s; want Failed TimedOut", st.State, st.Reason, st.Message)
	}
	if st.PendingTime == nil || st.StartTime == nil || st.EndTime == nil {
		t.Fatalf("status lacks its times: %+v", st)
	}
	pending, ran := st.StartTime.Sub(st.PendingTime.Time), st.EndTime.Sub(st.StartTime.Time)
	t.Logf("pending %v, then ran %v before it was stopped (status times, to the second)", pending, ran)
	if pending < 9*time.Second {
		t.Errorf("pending only %v; the pod was held 10s", pending)
	}
	// Times in the status are whole seconds: 10 s counts as 9 to 11, and
	// the reconciler looks again when the timeout ends, within a second.
	if ran < 9*time.Second || ran > 13*time.Second {
		t.Errorf("ran %v before the timeout ended it, want 10s from the pod's start (9s to 13s)", ran)
	}
	if st.Timeout == nil || st.Timeout.Duration != 10*time.Second || st.PendingTimeout == nil {
		t.Errorf("status says timeout %v, pending timeout %v", st.Timeout, st.PendingTimeout)
	}
	must(t, harness.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.BatchV1().Jobs(e.ns).Get(ctx, "slow", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}))
}

const rateProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: rate
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 300ms}
concurrencyLimits:
  - {tag: api, limit: 50, rate: 120/m, burst: 10}
deployments:
  - {flow: api, name: default, entrypoint: a.py:f, pool: p, tags: [api]}
`

// TestTagRateAcrossKill: 90 runs on a tag limited to 120/m with a burst of
// 10 (the 100 at 60/m with a burst of 5 would take two minutes):
// no window holds more starts than burst + rate × window, and the rate
// achieved after the first burst is within 5% of the limit, through a
// kill -9 of the reconciler.
func TestTagRateAcrossKill(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, rateProject, map[string]string{"template.json": testTemplate})
	jw := e.watchJobs(ctx, nil, noLimits)
	r := e.startReconciler("")
	const n, burst, perSecond = 90, 10, 2.0
	e.createRuns(ctx, burstNames("api", n), func(int) string { return "deployment: api/default\n" })
	must(t, harness.WaitFor(ctx, time.Minute, func(context.Context) (bool, error) {
		jw.mu.Lock()
		defer jw.mu.Unlock()
		return len(jw.added) >= 40, nil
	}))
	r.Kill()
	killed := time.Now()
	e.startReconciler("")
	e.waitFor(ctx, 2*time.Minute, "every run to finish", allFinal(n))

	jobs, err := cp.Client.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
	must(t, err)
	if len(jobs.Items) != n {
		t.Errorf("%d Jobs for %d runs", len(jobs.Items), n)
	}
	// Windows of whole seconds of the API server's creation times: the
	// seconds s..s+w-1 are w seconds.
	bySecond := map[int64]int{}
	for _, j := range jobs.Items {
		bySecond[j.CreationTimestamp.Unix()]++
	}
	for _, w := range []int64{1, 5, 10, 30} {
		most := 0
		for s := range bySecond {
			c := 0
			for k := s; k < s+w; k++ {
				c += bySecond[k]
			}
			most = max(most, c)
		}
		limit := burst + int(perSecond*float64(w))
		t.Logf("most starts in %ds: %d (limit %d)", w, most, limit)
		if most > limit {
			t.Errorf("%d starts within %ds, more than burst %d + rate × %ds = %d", most, w, burst, w, limit)
		}
	}
	// The rate achieved, from the watch's arrival times (to the
	// millisecond): after the first burst, one start per interval.
	jw.mu.Lock()
	var at []time.Time
	for _, c := range jw.createdAt {
		at = append(at, c)
	}
	jw.mu.Unlock()
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	achieved := float64(len(at)-burst) / at[len(at)-1].Sub(at[0]).Seconds()
	t.Logf("achieved %.3f starts/s against %.1f/s over %v, the reconciler killed %v after the first start",
		achieved, perSecond, at[len(at)-1].Sub(at[0]).Round(time.Millisecond), killed.Sub(at[0]).Round(time.Millisecond))
	if achieved < perSecond*0.95 || achieved > perSecond*1.05 {
		t.Errorf("achieved %.3f starts/s, not within 5%% of %.1f", achieved, perSecond)
	}
	if errs := fmt.Sprint(jw.violations); len(jw.violations) > 0 {
		t.Error(errs)
	}
}
