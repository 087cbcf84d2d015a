package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-flows/kubectl-flows/test/fixture"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// Kueue beside kubectl-flows. Kueue's manager (sigs.k8s.io/kueue, the
// version test/tools/kueue pins, built by its build.sh into a cache) runs
// out of cluster against the bench's control plane with the batch/Job
// integration only and no webhooks: the bench creates each Job suspended
// with the queue label, as Kueue's mutating webhook would have made it,
// and Kueue admits it by unsuspending it. Its rounds take turns with the
// same Jobs bare and the same runs through kubectl-flows (rounds.go), a
// fresh manager per round as the reconciler is.

// kueueConfig is the manager's configuration: no leader election, no
// internal certificate management (it would want webhook configurations
// to inject into), batch/Job only, and a client allowed 500 requests a
// second so client-side throttling is not what is measured. The ports are
// fresh each round; the webhook server still starts, on loopback, with a
// self-signed certificate, and nothing calls it.
const kueueConfig = `apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
health:
  healthProbeBindAddress: %s
metrics:
  bindAddress: %s
webhook:
  host: 127.0.0.1
  port: %d
  certDir: %s
leaderElection:
  leaderElect: false
internalCertManagement:
  enable: false
controller:
  groupKindConcurrency:
    Job.batch: 5
    Pod: 5
    Workload.kueue.x-k8s.io: 10
    LocalQueue.kueue.x-k8s.io: 5
    Cohort.kueue.x-k8s.io: 1
    ClusterQueue.kueue.x-k8s.io: 5
    ResourceFlavor.kueue.x-k8s.io: 1
clientConnection:
  qps: 500
  burst: 1000
integrations:
  frameworks:
  - "batch/job"
`

// kueueQueues: one flavor, a ClusterQueue with quota for 1,000 Jobs of
// kueueJobCPU and one with quota for 10.
var kueueQueues = `apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata: {name: default-flavor}
` + clusterQueue("cq-free", "100") + clusterQueue("cq-10", "1")

// clusterQueue is a ClusterQueue for every namespace with quota for cpu
// CPUs of the one flavor.
func clusterQueue(name, cpu string) string {
	return fmt.Sprintf(`---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: %s}
spec:
  namespaceSelector: {}
  resourceGroups:
  - coveredResources: ["cpu"]
    flavors:
    - name: default-flavor
      resources:
      - {name: cpu, nominalQuota: %q}
`, name, cpu)
}

// kueueJobCPU is what each of Kueue's Jobs requests: Kueue counts quota in
// requests, and a Job without one would fit any quota.
const kueueJobCPU = "100m"

const kueueQueueLabel = "kueue.x-k8s.io/queue-name"

var localQueues = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "localqueues"}

// kueue is the Kueue section's state: where the manager is, or why it
// cannot run here.
type kueue struct {
	dir     string // the build's cache: kueue and crds/
	work    string // configurations, certificates, the manager's logs
	skipped string // why the section did not run at all
	err     error  // why Kueue could not be built or run here
	rounds  int
	// What was measured, kept as it comes so that a later failure
	// loses none of it.
	free, limited []round[burst]
	steady        *burst
	idleRSS       map[string][]int64 // the manager's RSS once started and synced, by ClusterQueue, each burst
	table         string             // the section's Markdown
}

// kueueN is the number of Jobs in the section's bursts: 1,000, or
// BENCH_KUEUE_N for a short trial.
func kueueN() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_KUEUE_N")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// prepareKueue builds Kueue's manager with test/tools/kueue/build.sh (at
// once when cached), unless BENCH_KUEUE=0 or another part alone was asked
// for. A failed build is kept as the reason for the section's table.
func prepareKueue(only string) *kueue {
	if only != "" && only != "kueue" {
		return nil
	}
	k := &kueue{}
	if os.Getenv("BENCH_KUEUE") == "0" {
		k.skipped = "skipped: BENCH_KUEUE=0"
		return k
	}
	root, err := harness.RepoRoot()
	if err != nil {
		k.err = err
		return k
	}
	fmt.Println("building Kueue's manager (test/tools/kueue/build.sh)")
	var stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(root, "test", "tools", "kueue", "build.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		k.err = fmt.Errorf("test/tools/kueue/build.sh: %v: %s", err, lastLines(stderr.String(), 15))
		return k
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	k.dir = lines[len(lines)-1]
	return k
}

// kueueBudget is the time the Kueue section may add to the bench.
func kueueBudget(k *kueue) time.Duration {
	if k == nil || k.skipped != "" || k.err != nil {
		return 0
	}
	return 40 * time.Minute
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// kueueSection measures Kueue beside bare Jobs and kubectl-flows and
// writes the section's table. Whatever stops Kueue from running is kept
// as the table's reason, never the bench's failure.
func (b *bench) kueueSection(ctx context.Context) {
	k := b.kueue
	if k == nil {
		return
	}
	if k.skipped == "" && k.err == nil {
		k.err = b.kueueMeasure(ctx)
	}
	switch {
	case k.skipped != "":
		k.table = kueueHeader + "Not measured in this run: " + k.skipped + ".\n"
		return
	case len(k.free) > 0:
		k.table = kueueTable(kueueFigures(kueueN(), k))
	default:
		k.table = kueueHeader
	}
	if k.err != nil {
		fmt.Fprintln(os.Stderr, "bench: Kueue:", k.err)
		k.table += "\nKueue could not be measured (further) here: " + strings.ReplaceAll(k.err.Error(), "\n", " ") + "\n"
	}
}

const kueueHeader = "\n## Kueue beside kubectl-flows\n\n"

func (b *bench) kueueMeasure(ctx context.Context) error {
	k := b.kueue
	if err := b.kueueInstall(ctx); err != nil {
		return err
	}
	n := kueueN()
	kueueSide := func(clusterQueue string) side[burst] {
		return side[burst]{sideKueue, func(ctx context.Context, settled func() error) (burst, error) {
			return b.kueueBurst(ctx, n, clusterQueue, 0, settled)
		}}
	}
	var err error
	k.free, err = alternate(ctx, fmt.Sprintf("Kueue, N=%d, quota for all", n), 2, b.freshKwok([]side[burst]{
		b.bareSide(sideBare, n), b.flowsSide(sideFlows, n, throughputProject), kueueSide("cq-free"),
	}))
	if err != nil {
		k.free = nil // a cycle cut short has no ratio
		return err
	}
	k.limited, err = alternate(ctx, fmt.Sprintf("Kueue, N=%d, quota 10", n), 1, b.freshKwok([]side[burst]{
		b.bareSide(sideBare, n), b.flowsSide(sideFlows, n, poolLimited(10)), kueueSide("cq-10"),
	}))
	if err != nil {
		k.limited = nil
		return err
	}
	const steadyN, every = 200, 50 * time.Millisecond
	fmt.Printf("Kueue: %d Jobs, one every %v\n", steadyN, every)
	steady, err := b.kueueBurst(ctx, steadyN, "cq-free", every, func() error {
		idle, err := waitIdle(ctx)
		fmt.Printf("  machine %s\n", idle)
		return err
	})
	if err != nil {
		return err
	}
	k.steady = &steady
	return nil
}

// poolLimited is the throughput project with its pool's limit binding at
// limit: kubectl-flows' counterpart of a ClusterQueue with quota for limit
// Jobs.
func poolLimited(limit int) string {
	return strings.Replace(throughputProject, "concurrencyLimit: 100000\ndeployments", fmt.Sprintf("concurrencyLimit: %d\ndeployments", limit), 1)
}

// kueueInstall applies Kueue's CRDs server-side from its module source (as
// build.sh copied them), waits for them to be served, applies the queues,
// and writes the manager's certificates.
func (b *bench) kueueInstall(ctx context.Context) error {
	k := b.kueue
	var err error
	if k.work, err = os.MkdirTemp(b.dir, "kueue-"); err != nil {
		return err
	}
	crds := filepath.Join(k.dir, "crds")
	queues := filepath.Join(k.work, "queues.yaml")
	if err := os.WriteFile(queues, []byte(kueueQueues), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"apply", "--server-side", "--field-manager=bench", "-f", crds},
		{"wait", "--for=condition=Established", "--timeout=60s", "-f", crds},
		{"apply", "--server-side", "--field-manager=bench", "-f", queues},
	} {
		if out, err := b.cp.Kubectl(ctx, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, lastLines(string(out), 10))
		}
	}
	// The webhook server's certificate, and the metrics server's, which
	// the manager reads from a fixed path, /etc/kueue/metrics/certs, when
	// it does not manage certificates itself. The manager gets that path
	// in an overlay of /etc private to its mount namespace (startKueue):
	// the machine's /etc is not written.
	for _, dir := range []string{filepath.Join(k.work, "certs"), filepath.Join(k.work, "etc", "kueue", "metrics", "certs")} {
		if err := harness.WriteSelfSignedPair(dir, "tls", "127.0.0.1"); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(k.work, "etc-work"), 0o700)
}

// startKueue starts a manager and waits until it is ready and has taken
// the LocalQueue lq of ns in.
func (b *bench) startKueue(ctx context.Context, ns string) (*fixture.Process, error) {
	k := b.kueue
	k.rounds++
	health, metrics, webhook := freeAddr(), freeAddr(), freeAddr()
	_, port, _ := net.SplitHostPort(webhook)
	p, _ := strconv.Atoi(port)
	config := filepath.Join(k.work, fmt.Sprintf("config-%d.yaml", k.rounds))
	if err := os.WriteFile(config, fmt.Appendf(nil, kueueConfig, health, metrics, p, filepath.Join(k.work, "certs")), 0o644); err != nil {
		return nil, err
	}
	// unshare gives the manager a mount namespace of its own; there /etc
	// is overlaid with a directory holding kueue/metrics/certs, and the
	// shell then becomes the manager (exec: the process the bench
	// measures is the manager itself). As root no user namespace is needed.
	args := []string{"--mount", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append([]string{"--user", "--map-root-user"}, args...)
	}
	args = append(args, "sh", "-c", `mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc && shift 2 && exec "$@"`, "sh",
		filepath.Join(k.work, "etc"), filepath.Join(k.work, "etc-work"),
		filepath.Join(k.dir, "kueue"), "--config="+config, "--feature-gates=VisibilityOnDemand=false")
	proc, err := fixture.StartProcess(k.work, "kueue", []string{"KUBECONFIG=" + b.cp.Kubeconfig}, "unshare", args...)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*fixture.Process, error) {
		stopProcess(proc)
		return nil, fmt.Errorf("%w; Kueue's log ends:\n%s", err, lastLines(proc.LogText(), 15))
	}
	if err := waitHTTP(ctx, "http://"+health+"/readyz"); err != nil {
		return fail(err)
	}
	lq, err := dynamic.NewForConfig(b.cp.Config)
	if err != nil {
		return fail(err)
	}
	err = harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		q, err := lq.Resource(localQueues).Namespace(ns).Get(ctx, "lq", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(q.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Active" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fail(fmt.Errorf("LocalQueue %s/lq not Active: %w", ns, err))
	}
	return proc, nil
}

// stopProcess ends a process with SIGTERM, or SIGKILL if it lingers.
func stopProcess(p *fixture.Process) {
	p.Terminate()
	select {
	case <-p.Done():
	case <-time.After(15 * time.Second):
		p.Kill()
	}
}

// kueueBurst creates n Jobs in a fresh namespace whose LocalQueue points at
// clusterQueue, all at once by 16 workers or, with every > 0, one at a
// time, and waits for all to finish. Its latencies are admissions: a Job
// seen created to the same Job seen unsuspended.
func (b *bench) kueueBurst(ctx context.Context, n int, clusterQueue string, every time.Duration, settled func() error) (burst, error) {
	ns, err := b.cp.CreateNamespace(ctx, "bench-kueue")
	if err != nil {
		return burst{}, err
	}
	lq := filepath.Join(b.kueue.work, ns+".yaml")
	if err := os.WriteFile(lq, fmt.Appendf(nil, "apiVersion: kueue.x-k8s.io/v1beta2\nkind: LocalQueue\nmetadata: {namespace: %s, name: lq}\nspec: {clusterQueue: %s}\n", ns, clusterQueue), 0o644); err != nil {
		return burst{}, err
	}
	if out, err := b.cp.Kubectl(ctx, "apply", "--server-side", "--field-manager=bench", "-f", lq).CombinedOutput(); err != nil {
		return burst{}, fmt.Errorf("LocalQueue: %v: %s", err, out)
	}
	job, err := b.kueueJob()
	if err != nil {
		return burst{}, err
	}
	mgr, err := b.startKueue(ctx, ns)
	if err != nil {
		return burst{}, err
	}
	defer stopProcess(mgr)
	pid := mgr.Cmd.Process.Pid
	if rss, _, err := procUsage(pid); err == nil && every == 0 {
		if b.kueue.idleRSS == nil {
			b.kueue.idleRSS = map[string][]int64{}
		}
		b.kueue.idleRSS[clusterQueue] = append(b.kueue.idleRSS[clusterQueue], rss)
	}
	r, jobs, err := b.jobsBurst(ctx, ns, n, job, jobsBurst{prefix: "kueue", every: every}, settled)
	if err != nil {
		return burst{}, fmt.Errorf("%w; Kueue's log ends:\n%s", err, lastLines(mgr.LogText(), 10))
	}
	select {
	case <-mgr.Done():
		return burst{}, fmt.Errorf("the Kueue manager exited; its log ends:\n%s", lastLines(mgr.LogText(), 15))
	default:
	}
	r.rss, _ = peakRSS(pid)
	// Its latencies are admissions: a Job seen created to the same Job
	// seen unsuspended.
	r.lat = nil
	jobs.mu.Lock()
	for name, at := range jobs.added {
		if resumed, ok := jobs.resumed[name]; ok {
			r.lat = append(r.lat, resumed.Sub(at))
		}
	}
	jobs.mu.Unlock()
	return r, nil
}

// kueueJob is the bare rounds' Job made a Kueue Job: created suspended
// with the queue label, its containers requesting kueueJobCPU.
func (b *bench) kueueJob() (*batchv1.Job, error) {
	job, err := b.burstJob()
	if err != nil {
		return nil, err
	}
	suspend := true
	job.Spec.Suspend = &suspend
	if job.Labels == nil {
		job.Labels = map[string]string{}
	}
	job.Labels[kueueQueueLabel] = "lq"
	for i := range job.Spec.Template.Spec.Containers {
		c := &job.Spec.Template.Spec.Containers[i]
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(kueueJobCPU)
	}
	return job, nil
}

// extraWrites lists, per Job, the writes by resource and verb in w beyond
// those in base, largest first: what an orchestrator adds to a bare Job.
func extraWrites(w, base writes, n int) string {
	type extra struct {
		what string
		per  float64
	}
	var list []extra
	for res, verbs := range w {
		if res == "leases" || res == "events" {
			continue
		}
		for _, verb := range writeVerbs {
			if d := (verbs[verb] - base[res][verb]) / float64(n); d >= 0.05 || d <= -0.05 {
				list = append(list, extra{verb + " " + res, d})
			}
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].per != list[j].per {
			return list[i].per > list[j].per
		}
		return list[i].what < list[j].what
	})
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("%s %+.2f", e.what, e.per)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// kueueRow is a line of the Kueue section's table.
type kueueRow struct{ figure, bare, flows, kueue, note string }

// bySide formats value over each side's rounds as its median (range) and,
// with ratio, the flows and Kueue sides' ratio to bare Jobs, cycle by cycle.
func bySide(rounds []round[burst], value func(burst) float64, f func(float64) string, ratio bool) (bare, flows, kq string) {
	cell := func(side string) string {
		s := values(rounds, side, value).format(f)
		if ratio && side != sideBare {
			s += "; to bare " + ratios(rounds, side, sideBare, value).ratio()
		}
		return s
	}
	return cell(sideBare), cell(sideFlows), cell(sideKueue)
}

// sideRounds are the results of one side's rounds.
func sideRounds(rounds []round[burst], side string) []burst {
	var out []burst
	for _, r := range rounds {
		if r.side == side {
			out = append(out, r.got)
		}
	}
	return out
}

// meanCPU is the mean CPU time by process over rounds.
func meanCPU(rs []burst) map[string]time.Duration {
	sum := map[string]time.Duration{}
	for _, r := range rs {
		for name, d := range r.cpu {
			sum[name] += d / time.Duration(len(rs))
		}
	}
	return sum
}

// p50p99 formats latencies pooled over rounds.
func p50p99(rs []burst) string {
	lat := pooledLatencies(rs)
	if len(lat) == 0 {
		return "none"
	}
	return fmt.Sprintf("%s / %s", dur(pct(lat, 50)), dur(pct(lat, 99)))
}

// kueueFigures are the section's rows, of what was measured: the rounds
// with quota for all, then those with quota 10 and the steady Jobs if
// they ran.
func kueueFigures(n int, k *kueue) []kueueRow {
	free, limited := k.free, k.limited
	secs := func(v float64) string { return dur(time.Duration(v * float64(time.Second))) }
	perJob := func(r burst) float64 { return 1000 * totalCPU(r.cpu).Seconds() / float64(n) }
	ms := func(v float64) string { return fmt.Sprintf("%.0f ms", v) }
	writesPer := func(r burst) float64 { o, _ := apiWritesOf(r.cost); return float64(o) / float64(n) }
	eventsPer := func(r burst) float64 { _, e := apiWritesOf(r.cost); return float64(e) / float64(n) }
	two := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	mb := func(v float64) string { return mib(int64(v)) }
	var rows []kueueRow
	add := func(figure string, rounds []round[burst], value func(burst) float64, f func(float64) string, ratio bool, note string) {
		bare, flows, kq := bySide(rounds, value, f, ratio)
		rows = append(rows, kueueRow{figure, bare, flows, kq, note})
	}
	add(fmt.Sprintf("N=%d, quota for all: first create to all finished", n), free, tookSeconds, secs, true,
		"median (range) of 2 rounds each; the ratio is the median of the 2 cycles' own; "+idleNote(free))
	add("CPU time of all processes per Job, quota for all", free, perJob, ms, true,
		fmt.Sprintf("mean seconds by process over the %d Jobs; kubectl-flows: %s; Kueue: %s", n, cpuSplit(meanCPU(sideRounds(free, sideFlows))), cpuSplit(meanCPU(sideRounds(free, sideKueue)))))
	bareCost, flowsCost, kueueCost := sideRounds(free, sideBare)[0].cost, sideRounds(free, sideFlows)[0].cost, sideRounds(free, sideKueue)[0].cost
	add("API writes per Job, all components, quota for all", free, writesPer, two, false,
		"every POST, PUT, PATCH, APPLY and DELETE the API server took during the burst and until its writes were quiet, the Jobs' (or runs') own creates included, Events apart, leases left out; beyond bare Jobs, per Job, kubectl-flows: "+
			extraWrites(flowsCost, bareCost, n)+"; Kueue: "+extraWrites(kueueCost, bareCost, n))
	add("Events per Job, all components, quota for all", free, eventsPer, two, false, "Event creates and patches during the burst and until the writes were quiet")
	rows = append(rows, kueueRow{fmt.Sprintf("admission latency, burst of %d, quota for all (p50 / p99)", n),
		p50p99(sideRounds(free, sideBare)), p50p99(sideRounds(free, sideFlows)), p50p99(sideRounds(free, sideKueue)),
		"bare: a Job's create call to its create seen by a watch (the API server's own delay under the burst); kubectl-flows: a run seen created to its Job seen created; Kueue: a Job seen created to the same Job seen unsuspended"})
	var idle []float64
	for _, v := range k.idleRSS["cq-free"] {
		idle = append(idle, float64(v))
	}
	_, flows, kq := bySide(free, func(r burst) float64 { return float64(r.rss) }, mb, false)
	rows = append(rows, kueueRow{"orchestrator's peak RSS over the burst, quota for all", "", flows, kq,
		"VmHWM of the reconciler and of Kueue's manager, a fresh process each round; Kueue's manager once started and synced, before its Jobs: " + spreadOf(idle).format(mb) +
			" (it caches every Job in the cluster, those of the bench's earlier rounds included)"})
	if len(limited) > 0 {
		add(fmt.Sprintf("N=%d, quota 10: first create to all finished", n), limited, tookSeconds, secs, true,
			"one round each: kubectl-flows with a pool limit of 10, Kueue with a ClusterQueue quota of 1 CPU for Jobs of "+kueueJobCPU+"; "+idleNote(limited))
		add("CPU time of all processes per Job, quota 10", limited, perJob, ms, true, "Kueue: "+cpuSplit(meanCPU(sideRounds(limited, sideKueue))))
		add("API writes per Job, quota 10", limited, writesPer, two, false, "the same count")
		add("Events per Job, quota 10", limited, eventsPer, two, false, "the same count")
	}
	if k.steady != nil {
		rows = append(rows, kueueRow{"admission latency, 20 Jobs/s, quota for all (p50 / p99)", "", "the 20 runs/s row of the main table",
			fmt.Sprintf("%s (%d Jobs)", p50p99([]burst{*k.steady}), len(k.steady.lat)),
			"200 Jobs created one every 50 ms, one round; Kueue: a Job seen created to the same Job seen unsuspended"})
	}
	return rows
}

// kueueTable is the section's Markdown.
func kueueTable(rows []kueueRow) string {
	var s strings.Builder
	s.WriteString(kueueHeader)
	s.WriteString("Kueue's manager built from sigs.k8s.io/kueue (test/tools/kueue), out of cluster, batch/Job integration only, no webhooks: Jobs created suspended with the queue label. Each side's rounds took turns with the others'.\n\n")
	s.WriteString("| figure | bare Jobs | kubectl-flows | Kueue | how |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", r.figure, r.bare, r.flows, r.kueue, r.note)
		fmt.Printf("  %-46s bare %-14s kubectl-flows %-22s Kueue %s\n", r.figure, r.bare, r.flows, r.kueue)
	}
	return s.String()
}
