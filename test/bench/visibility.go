package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// visibilityProject binds each deployment's runs by one limit of its own
// kind: a queue's, a tag's, a deployment's, a pool's shared by two queues
// of different priority; and one deployment is paused.
const visibilityProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: vis
namespace: NS
runRetention: {count: 100000}
pools:
  - name: main
    concurrencyLimit: 1000
    queues:
      - {name: default}
      - {name: narrow, concurrencyLimit: 10}
  - name: small
    concurrencyLimit: 10
    queues:
      - {name: hi, priority: 1}
      - {name: lo, priority: 5}
concurrencyLimits:
  - {tag: database, limit: 10}
deployments:
  - {flow: mix, name: queue, entrypoint: a.py:f, image: example.com/a:1, pool: main, queue: narrow}
  - {flow: mix, name: tag, entrypoint: a.py:f, image: example.com/a:1, pool: main, tags: [database]}
  - {flow: mix, name: dep, entrypoint: a.py:f, image: example.com/a:1, pool: main, concurrencyLimit: 10}
  - {flow: mix, name: hi, entrypoint: a.py:f, image: example.com/a:1, pool: small, queue: hi}
  - {flow: mix, name: lo, entrypoint: a.py:f, image: example.com/a:1, pool: small, queue: lo}
  - {flow: mix, name: held, entrypoint: a.py:f, image: example.com/a:1, pool: main, concurrencyLimit: 10}
`

// visibilityRuns are the runs queued per deployment: 1,000 in all.
var visibilityRuns = []struct {
	deployment string
	n          int
}{{"queue", 200}, {"tag", 200}, {"dep", 200}, {"hi", 100}, {"lo", 100}, {"held", 200}}

// cliRounds is how many times each command is timed against its baseline.
const cliRounds = 20

// visibility: issue 22's figures. 1,000 runs are queued on mixed limits,
// one deployment paused, before any reconciler runs; `get runs` is timed
// against kubectl listing the same ConfigMaps, and the positions it shows
// are read. Then the limits are released step by step, each step with the
// reconciler stopped while the positions are read: first the reconciler
// starts (the limits bind), then, once those runs are done, the pause is
// lifted. The order in which the Jobs are seen created is compared with
// the positions shown before each step.
func (b *bench) visibility(ctx context.Context) error {
	fmt.Println("visibility: 1,000 runs queued on mixed limits")
	p, err := b.installProject(ctx, "bench-vis", visibilityProject)
	if err != nil {
		return err
	}
	ns, dir := p.Namespace, p.Dir
	held := v1alpha1.DeploymentConfigMapName("mix", "held")
	if err := b.setPaused(ctx, ns, held, true); err != nil {
		return err
	}
	names, deployment, err := b.createVisibilityRuns(ctx, ns)
	if err != nil {
		return err
	}
	if err := b.getRunsLatency(ctx, ns, len(names)); err != nil {
		return err
	}
	jobs, err := b.watchJobs(ctx, ns)
	if err != nil {
		return err
	}
	defer jobs.stop()
	shown := map[string]int{}
	if err := b.releaseInSteps(ctx, ns, dir, p, held, jobs, shown); err != nil {
		return err
	}
	// Each deployment's runs wait in one line, for its binding limit.
	line := map[string]string{"mix/queue": "queue main/narrow", "mix/tag": "tag database", "mix/dep": "deployment mix/dep",
		"mix/hi": "pool small", "mix/lo": "pool small", "mix/held": "deployment mix/held"}
	groups := map[string][]string{}
	for _, n := range names {
		groups[line[deployment[n]]] = append(groups[line[deployment[n]]], n)
	}
	started := map[string]time.Time{}
	for _, n := range names {
		if at, ok := jobs.addedAt(v1alpha1.JobName(n)); ok {
			started[n] = at
		}
	}
	res := fixture.CompareStartOrder(groups, shown, started, 400*time.Millisecond)
	b.addStartOrder(res)
	return nil
}

// createVisibilityRuns creates the runs of visibilityRuns in no particular
// order, and returns their names and each one's deployment.
func (b *bench) createVisibilityRuns(ctx context.Context, ns string) (names []string, deployment map[string]string, err error) {
	deployment = map[string]string{}
	for _, d := range visibilityRuns {
		for i := range d.n {
			n := fmt.Sprintf("%s-%03d", d.deployment, i)
			names, deployment[n] = append(names, n), "mix/"+d.deployment
		}
	}
	// Created in no particular order: a line's order is priority,
	// scheduled time (creation), then name.
	rand.New(rand.NewSource(1)).Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	err = fixture.CreateConcurrently(len(names), 16, func(i int) error {
		_, err := b.client.CoreV1().ConfigMaps(ns).Create(ctx, fixture.RunRequest(names[i], "deployment: "+deployment[names[i]]+"\n"), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return names, deployment, nil
}

// releaseInSteps lets the waiting runs start in steps: first the
// reconciler starts and the limits bind, then the pause of the held
// deployment is lifted. At each step, with the reconciler stopped, it
// reads the positions `get runs` shows into shown, then runs the
// reconciler until the runs that waited have finished and their final
// states are written.
func (b *bench) releaseInSteps(ctx context.Context, ns, dir string, p *fixture.Project, held string, jobs *jobWatcher, shown map[string]int) error {
	steps := []struct {
		what    string
		release func() error
	}{
		{"the reconciler starts: the limits bind", func() error { return nil }},
		{"the pause of mix/held is lifted", func() error { return b.setPaused(ctx, ns, held, false) }},
	}
	done := 0
	for _, step := range steps {
		if err := step.release(); err != nil {
			return err
		}
		waiting, err := b.shownPositions(ctx, ns, shown)
		if err != nil {
			return err
		}
		fmt.Printf("  %s: %d runs waiting\n", step.what, waiting)
		rec, err := fixture.StartReconciler(b.bin, dir, b.cp.Kubeconfig, ns, p.ReconcilerArgs()...)
		if err != nil {
			return err
		}
		done += waiting
		err = jobs.waitFinished(ctx, done, 5*time.Minute)
		if err == nil {
			// A run whose Job has finished but whose final state the
			// reconciler has yet to write would read as waiting at the
			// next step, its Job counted twice.
			err = b.waitLabelled(ctx, ns, map[v1alpha1.RunState]int{v1alpha1.StateCompleted: done}, 2*time.Minute)
		}
		rec.Terminate()
		<-rec.Done()
		if err != nil {
			return fmt.Errorf("%s: %w (reconciler log %s)", step.what, err, rec.Log)
		}
	}
	return nil
}

// addStartOrder adds how well the positions shown matched the order runs
// started, and prints the runs out of that order.
func (b *bench) addStartOrder(res fixture.StartOrder) {
	var split []string
	for _, g := range sortedKeys(res.Groups) {
		sg := res.Groups[g]
		split = append(split, fmt.Sprintf("%s %d/%d", g, sg.Runs-len(sg.Mismatches), sg.Runs))
		if len(sg.Mismatches) > 0 {
			fmt.Printf("  %s: out of the order shown: %s\n", g, strings.Join(sg.Mismatches, "; "))
		}
	}
	b.add(row{
		figure:   fmt.Sprintf("positions `get runs` shows vs the order runs start, %d runs on mixed limits", res.Total),
		baseline: "", flows: fmt.Sprintf("%d of %d (%.1f%%)", res.Matched, res.Total, 100*float64(res.Matched)/float64(res.Total)),
		target: "≥99%",
		note: "queue, tag, deployment and pool (two queues of different priority) limits of 10, one deployment paused; positions read from `get runs -o json` (the view `-o wide` prints) before each step with the reconciler stopped, " +
			"steps: the reconciler starts (the limits bind), then the pause is lifted; start order: each run's Job first seen by a watch, Jobs seen within 400 ms tied (a pass creates them concurrently); " +
			"a run matches when its shown rank in its limit's line (those shown starting next tied first) falls within its Job's ranks. By line: " + strings.Join(split, ", "),
	})
}

// shownPositions reads, from `kubectl flows get runs -o json`, each waiting
// run's position (0: starts next) into shown, and says how many wait.
func (b *bench) shownPositions(ctx context.Context, ns string, shown map[string]int) (int, error) {
	_, out, err := b.timed(ctx, b.flowsCmd(ns, "get", "runs", "-o", "json"))
	if err != nil {
		return 0, err
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Status   struct {
				State     string
				WaitingOn string `json:"waitingOn"`
				Position  int
			}
		}
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return 0, fmt.Errorf("get runs -o json: %w", err)
	}
	waiting := 0
	for _, it := range list.Items {
		if it.Status.WaitingOn == "" || strings.HasPrefix(it.Status.WaitingOn, "paused ") {
			continue
		}
		shown[it.Metadata.Name] = it.Status.Position
		waiting++
	}
	return waiting, nil
}

// getRunsLatency times `kubectl flows get runs` with n runs waiting
// against kubectl listing the same ConfigMaps, alternating.
func (b *bench) getRunsLatency(ctx context.Context, ns string, n int) error {
	res, err := b.alternate(ctx, cliRounds, b.flowsCmd(ns, "get", "runs", "-o", "wide"), b.kubectlRuns(ns))
	if err != nil {
		return err
	}
	flows, base := res[0], res[1]
	b.add(row{
		figure:   fmt.Sprintf("`kubectl flows get runs -o wide`, %d runs waiting (p50 / p95)", n),
		baseline: fmt.Sprintf("%s / %s", dur(pct(base.took, 50)), dur(pct(base.took, 95))),
		flows:    fmt.Sprintf("%s / %s", dur(pct(flows.took, 50)), dur(pct(flows.took, 95))),
		ratio:    fmt.Sprintf("%.2f", pct(flows.took, 95).Seconds()/pct(base.took, 95).Seconds()),
		target:   "p95 ≤500 ms",
		note:     fmt.Sprintf("the real binary, %d calls each alternating; baseline: `kubectl get configmaps -l %s=true` (the same objects, the same process start)", cliRounds, v1alpha1.LabelRun),
	})
	return nil
}

// flowsCmd is the kubectl-flows binary against ns.
func (b *bench) flowsCmd(ns string, args ...string) []string {
	return append([]string{filepath.Join(b.bin, "kubectl-flows"), "--kubeconfig", b.cp.Kubeconfig, "-n", ns}, args...)
}

// kubectlRuns is kubectl listing every run ConfigMap of ns.
func (b *bench) kubectlRuns(ns string) []string {
	return []string{b.cp.KubectlPath(), "--kubeconfig", b.cp.Kubeconfig, "-n", ns, "get", "configmaps", "-l", v1alpha1.LabelRun + "=true"}
}

// timed runs a command to the end, returning its wall time and output.
func (b *bench) timed(ctx context.Context, argv []string) (time.Duration, []byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, io.Discard
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0)
	if err != nil {
		return took, nil, fmt.Errorf("%s: %w\n%.2000s", strings.Join(argv[4:], " "), err, out.String())
	}
	return took, []byte(out.String()), nil
}

// calls are the timings of one command and what it cost the API server,
// counted over the calls the API server's own lists left undisturbed.
type calls struct {
	took      []time.Duration
	counted   int // calls whose reads were counted
	disturbed int // calls during which the API server listed ConfigMaps for itself
	reads
}

// reads are the ConfigMap reads (LIST and GET) the kube-apiserver served:
// requests, the bytes of their responses as sent (gzip, which both
// clients accept), the objects its lists returned, the LIST requests, and
// the lists its storage served (one per LIST request, plus the lists the
// API server makes for itself); and the Job reads, of the runs that may
// have started before their status says so.
type reads struct{ requests, bytes, returned, lists, storageLists, jobRequests float64 }

func (r reads) minus(o reads) reads {
	return reads{r.requests - o.requests, r.bytes - o.bytes, r.returned - o.returned, r.lists - o.lists, r.storageLists - o.storageLists, r.jobRequests - o.jobRequests}
}

func (r reads) plus(o reads) reads {
	return reads{r.requests + o.requests, r.bytes + o.bytes, r.returned + o.returned, r.lists + o.lists, r.storageLists + o.storageLists, r.jobRequests + o.jobRequests}
}

func (c calls) perCall() string {
	if c.counted == 0 {
		return fmt.Sprintf("API cost not counted: the API server listed ConfigMaps for itself during all %d calls", c.disturbed)
	}
	n := float64(c.counted)
	s := fmt.Sprintf("%.1f ConfigMap requests, %.0f objects returned, %s sent, %.1f Job requests", c.requests/n, c.returned/n, kib(c.bytes/n), c.jobRequests/n)
	if c.disturbed > 0 {
		s += fmt.Sprintf(" (over %d calls; %d left out, during which the API server listed ConfigMaps for itself)", c.counted, c.disturbed)
	}
	return s
}

func kib(b float64) string {
	if b >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", b/(1<<10))
}

// alternate runs each command rounds times, in turn, counting what each
// call costs the API server from its own metrics before and after.
func (b *bench) alternate(ctx context.Context, rounds int, argvs ...[]string) ([]calls, error) {
	out := make([]calls, len(argvs))
	for range rounds {
		for i, argv := range argvs {
			before, err := b.configMapReads(ctx)
			if err != nil {
				return nil, err
			}
			took, _, err := b.timed(ctx, argv)
			if err != nil {
				return nil, err
			}
			after, err := b.configMapReads(ctx)
			if err != nil {
				return nil, err
			}
			out[i].took = append(out[i].took, took)
			// The API server lists every ConfigMap from etcd on its own
			// (the watch cache's periodic consistency check, a relist):
			// its objects are no call's, and the counter does not tell
			// them apart, so such a call's reads are left out.
			if d := after.minus(before); d.storageLists > d.lists {
				out[i].disturbed++
			} else {
				out[i].counted++
				out[i].reads = out[i].reads.plus(d)
			}
		}
	}
	return out, nil
}

// configMapReads reads the kube-apiserver's counts of ConfigMap reads:
// apiserver_request_total, apiserver_response_sizes,
// apiserver_storage_list_returned_objects_total and
// apiserver_storage_list_total (lists served from etcd and from the watch
// cache alike).
func (b *bench) configMapReads(ctx context.Context) (reads, error) {
	families, err := b.cp.APIServerMetrics(ctx)
	if err != nil {
		return reads{}, err
	}
	var r reads
	read := func(m *dto.Metric) bool {
		l := labelMap(m.GetLabel())
		return l["resource"] == "configmaps" && l["subresource"] == "" && (l["verb"] == "" || l["verb"] == "LIST" || l["verb"] == "GET")
	}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		if l := labelMap(m.GetLabel()); l["resource"] == "jobs" && l["subresource"] == "" && (l["verb"] == "LIST" || l["verb"] == "GET") {
			r.jobRequests += m.GetCounter().GetValue()
		}
	}
	for name, add := range map[string]func(*dto.Metric){
		"apiserver_request_total": func(m *dto.Metric) {
			r.requests += m.GetCounter().GetValue()
			if labelMap(m.GetLabel())["verb"] == "LIST" {
				r.lists += m.GetCounter().GetValue()
			}
		},
		"apiserver_storage_list_total":                  func(m *dto.Metric) { r.storageLists += m.GetCounter().GetValue() },
		"apiserver_response_sizes":                      func(m *dto.Metric) { r.bytes += m.GetHistogram().GetSampleSum() },
		"apiserver_storage_list_returned_objects_total": func(m *dto.Metric) { r.returned += m.GetCounter().GetValue() },
	} {
		for _, m := range families[name].GetMetric() {
			if read(m) {
				add(m)
			}
		}
	}
	return r, nil
}

func labelMap(pairs []*dto.LabelPair) map[string]string {
	l := make(map[string]string, len(pairs))
	for _, p := range pairs {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// retainedProject keeps every finished run (retention never prunes
// them); its pool is paused, so its waiting runs stay waiting.
const retainedProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: keep
namespace: NS
runRetention: {count: 1000000, age: 8760h}
pools:
  - name: keep
    concurrencyLimit: 10
    paused: true
deployments:
DEPLOYMENTS`

// retainedDeployments share the finished runs.
const retainedDeployments = 10

// retained: issue 23's figure. N finished runs kept by retention (20,000;
// BENCH_FINISHED sets another count, 2,000 for development), spread over
// the last 7 days and over 10 deployments, beside 50 runs waiting: `get
// runs` and `describe deployment` timed, and what each call costs the API
// server, against kubectl listing every run and against `get runs
// --limit 0`, which lists every run as get runs did before.
//
// The finished runs are written as the reconciler leaves them (state and
// end labels, status.yaml) straight from this client, at high QPS: running
// 20,000 runs through the reconciler would take most of an hour here. Their
// status carries no valid signature, which no client can check (the key
// is the reconciler's); no reconciler runs in this namespace.
func (b *bench) retained(ctx context.Context) error {
	n := 20000
	if v := os.Getenv("BENCH_FINISHED"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return fmt.Errorf("BENCH_FINISHED=%q: give a count of runs", v)
		}
	}
	const waiting = 50
	fmt.Printf("retained: %d finished runs, %d waiting\n", n, waiting)
	var deployments strings.Builder
	for d := range retainedDeployments {
		fmt.Fprintf(&deployments, "  - {flow: keep, name: d%d, entrypoint: a.py:f, image: example.com/a:1, pool: keep}\n", d)
	}
	project, err := b.installProject(ctx, "bench-keep", strings.Replace(retainedProject, "DEPLOYMENTS", deployments.String(), 1))
	if err != nil {
		return err
	}
	ns := project.Namespace
	now, every := time.Now(), 7*24*time.Hour/time.Duration(n)
	t0 := time.Now()
	err = fixture.CreateConcurrently(n+waiting, 32, func(i int) error {
		cm := fixture.RunRequest(fmt.Sprintf("keep-%05d", i), fmt.Sprintf("deployment: keep/d%d\n", i%retainedDeployments))
		if i < n {
			finishedRun(cm, i%retainedDeployments, now.Add(-time.Duration(i+1)*every), i%10 == 9)
		}
		_, err := b.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("  created %d runs in %s\n", n+waiting, dur(time.Since(t0)))
	rounds := 10
	res, err := b.alternate(ctx, rounds,
		b.flowsCmd(ns, "get", "runs"),
		b.flowsCmd(ns, "describe", "deployment", "keep/d0"),
		b.kubectlRuns(ns),
		b.flowsCmd(ns, "get", "runs", "--limit", "0"),
	)
	if err != nil {
		return err
	}
	get, describe, base, all := res[0], res[1], res[2], res[3]
	p := func(c calls) string { return fmt.Sprintf("%s / %s", dur(pct(c.took, 50)), dur(pct(c.took, 95))) }
	note := fmt.Sprintf("%d finished runs over 10 deployments, ended over the last 7 days, and %d waiting; %d calls of each command in turn; per call: ", n, waiting, rounds)
	b.add(row{
		figure:   fmt.Sprintf("`kubectl flows get runs`, %d finished runs retained (p50 / p95)", n),
		baseline: p(base), flows: p(get),
		ratio:  fmt.Sprintf("%.2f", pct(get.took, 95).Seconds()/pct(base.took, 95).Seconds()),
		target: "p95 ≤1 s",
		note: note + fmt.Sprintf("get runs (the runs not finished and the newest 100 finished, by label selectors) %s; baseline `kubectl get configmaps -l %s=true` (every run) %s; `get runs --limit 0` (every run, as before) %s, p50 / p95 %s",
			get.perCall(), v1alpha1.LabelRun, base.perCall(), all.perCall(), p(all)),
	})
	b.add(row{
		figure:   fmt.Sprintf("`kubectl flows describe deployment`, %d finished runs retained (p50 / p95)", n),
		baseline: p(base), flows: p(describe),
		ratio:  fmt.Sprintf("%.2f", pct(describe.took, 95).Seconds()/pct(base.took, 95).Seconds()),
		target: "p95 ≤1 s",
		note:   note + fmt.Sprintf("describe deployment (the runs not finished and the deployment's newest 10 finished) %s; baseline as above", describe.perCall()),
	})
	return nil
}

// finishedRun makes cm a run the reconciler has ended, as its final write
// leaves it: the state and end labels, the selector labels, status.yaml.
func finishedRun(cm *corev1.ConfigMap, d int, end time.Time, failed bool) {
	state, reason := v1alpha1.StateCompleted, "Succeeded"
	ready := metav1.ConditionTrue
	if failed {
		state, reason, ready = v1alpha1.StateFailed, "BackoffLimitExceeded", metav1.ConditionFalse
	}
	at := func(t time.Time) *metav1.Time { return &metav1.Time{Time: t.Truncate(time.Second)} }
	st := &v1alpha1.RunStatus{
		State: state, Reason: reason, JobName: v1alpha1.JobName(cm.Name), Pool: "keep", Queue: "default",
		ScheduledTime: at(end.Add(-time.Minute)), PendingTime: at(end.Add(-50 * time.Second)),
		StartTime: at(end.Add(-45 * time.Second)), EndTime: at(end),
		Parameters: map[string]any{"name": "world"},
		Conditions: []metav1.Condition{{Type: "Ready", Status: ready, Reason: reason, LastTransitionTime: *at(end)}},
	}
	data, _ := v1alpha1.EncodeRunStatus(st)
	cm.Data[v1alpha1.KeyStatus] = data
	dep := v1alpha1.DeploymentLabelValue("keep", fmt.Sprintf("d%d", d))
	for k, v := range map[string]string{
		v1alpha1.LabelState: string(state), v1alpha1.LabelEnded: v1alpha1.EndedLabelValue(end),
		v1alpha1.LabelDeployment: dep, v1alpha1.LabelFlow: "keep", v1alpha1.LabelPool: "keep", v1alpha1.LabelQueue: "default",
	} {
		cm.Labels[k] = v
	}
	cm.Annotations = map[string]string{v1alpha1.AnnotationSignature: "unsigned-bench-run"}
}
