package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-flows/kubectl-flows/test/fixture"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// writes counts the kube-apiserver's requests by verb and resource (with
// subresource, as resource/subresource), from its own
// apiserver_request_total.
type writes map[string]map[string]float64 // resource -> verb -> count

func (b *bench) apiWrites(ctx context.Context) (writes, error) {
	families, err := b.cp.APIServerMetrics(ctx)
	if err != nil {
		return nil, err
	}
	w := writes{}
	fam := families["apiserver_request_total"]
	if fam == nil {
		return nil, fmt.Errorf("the kube-apiserver exposes no apiserver_request_total")
	}
	for _, m := range fam.Metric {
		l := map[string]string{}
		for _, p := range m.Label {
			l[p.GetName()] = p.GetValue()
		}
		res := l["resource"]
		if l["subresource"] != "" {
			res += "/" + l["subresource"]
		}
		if w[res] == nil {
			w[res] = map[string]float64{}
		}
		w[res][l["verb"]] += m.GetCounter().GetValue()
	}
	return w, nil
}

// writeVerbs are the verbs of apiserver_request_total that write: APPLY
// is a server-side apply, which the API server counts apart from PATCH.
var writeVerbs = []string{"POST", "PUT", "PATCH", "APPLY", "DELETE"}

// apiWritesOf counts the writes in w (writeVerbs on every resource), with
// Events apart and leases left out: the components' leases are renewed by
// the clock, not by Jobs.
func apiWritesOf(w writes) (objects, events int) {
	for res, verbs := range w {
		for _, verb := range writeVerbs {
			switch {
			case res == "leases":
			case res == "events":
				events += int(verbs[verb])
			default:
				objects += int(verbs[verb])
			}
		}
	}
	return objects, events
}

// apiWritesQuiet reads the API server's request counts once its writes
// (apiWritesOf: leases apart) have stopped for a moment, or after at most
// three minutes: what the components write just after the last Job
// finished (a Workload marked finished, a quota released, a last Event)
// belongs to the burst, and an orchestrator that falls behind a burst of
// 1,000 catches up for tens of seconds.
func (b *bench) apiWritesQuiet(ctx context.Context) (writes, error) {
	const quietFor, most = 2 * time.Second, 3 * time.Minute
	w, err := b.apiWrites(ctx)
	if err != nil {
		return nil, err
	}
	start, quietSince := time.Now(), time.Now()
	objects, events := apiWritesOf(w)
	for time.Since(quietSince) < quietFor && time.Since(start) < most {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second): // each read costs the API server and the bench CPU the burst is charged
		}
		if w, err = b.apiWrites(ctx); err != nil {
			return nil, err
		}
		if o, e := apiWritesOf(w); o != objects || e != events {
			objects, events, quietSince = o, e, time.Now()
		}
	}
	switch {
	case time.Since(quietSince) < quietFor:
		fmt.Printf("  API writes NOT quiet %s after the burst: counted up to then\n", dur(time.Since(start)))
	case os.Getenv("BENCH_VERBOSE") == "1":
		fmt.Printf("  API writes quiet %s after the burst\n", dur(time.Since(start)))
	}
	return w, nil
}

func (w writes) minus(before writes) writes {
	d := writes{}
	for res, verbs := range w {
		for verb, n := range verbs {
			if v := n - before[res][verb]; v != 0 {
				if d[res] == nil {
					d[res] = map[string]float64{}
				}
				d[res][verb] = v
			}
		}
	}
	return d
}

func (w writes) sum(verb, resource string) int { return int(w[resource][verb]) }

// byVerb lists the mutating requests on a resource, e.g. "PUT 3000, POST 1000".
func (w writes) byVerb(resource string, skip ...string) string {
	var parts []string
	for _, verb := range writeVerbs {
		if n := w.sum(verb, resource); n > 0 && !contains(skip, verb) {
			parts = append(parts, fmt.Sprintf("%s %d", verb, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return b, err
}

// waitHTTP polls url until it answers 200.
func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := httpGet(ctx, url)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within 30s: %v", url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// procUsage reads a process's resident memory and CPU time from /proc.
func procUsage(pid int) (rss int64, cpu time.Duration, err error) {
	if rss, err = procStatus(pid, "VmRSS"); err != nil {
		return 0, 0, err
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces, in parens).
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	cpu = time.Duration(utime+stime) * time.Second / ticks
	return rss, cpu, nil
}

// rssSplit says what a process's resident memory is made of: its
// anonymous pages (the Go heap, stacks and runtime) and the pages of its
// binary and other files it has touched.
func rssSplit(pid int) string {
	anon, err1 := procStatus(pid, "RssAnon")
	file, err2 := procStatus(pid, "RssFile")
	if err := errors.Join(err1, err2); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("RssAnon %s, RssFile %s", mib(anon), mib(file))
}

// peakRSS is the most resident memory a process has had (VmHWM).
func peakRSS(pid int) (int64, error) { return procStatus(pid, "VmHWM") }

// procStatus reads a size field (kB) of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var kb int64
			fmt.Sscanf(v, "%d", &kb)
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// timeline is the number of unfinished Jobs per limit over a burst, from
// one Job watch, and the times from a slot freed to the next Job created.
type timeline struct {
	keys   []string
	points map[string][][2]float64 // key -> (seconds, in flight)
	max    map[string]int
	refill []time.Duration
}

func (jw *jobWatcher) timeline(t0 time.Time, keysOf func(*batchv1.Job) []string) *timeline {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	events := append([]jobEvent(nil), jw.events...)
	sort.SliceStable(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })
	tl := &timeline{points: map[string][][2]float64{}, max: map[string]int{}}
	inFlight := map[string]int{}
	// With limits binding, every create after the first wave answers a
	// Job finishing; the latest finish before it is what set it off.
	var lastFinish time.Time
	for _, ev := range events {
		keys := keysOf(ev.job)
		delta := 1
		if ev.finished {
			delta = -1
			lastFinish = ev.at
		} else if !lastFinish.IsZero() {
			tl.refill = append(tl.refill, ev.at.Sub(lastFinish))
		}
		for _, k := range keys {
			if _, ok := inFlight[k]; !ok {
				tl.keys = append(tl.keys, k)
			}
			inFlight[k] += delta
			if inFlight[k] > tl.max[k] {
				tl.max[k] = inFlight[k]
			}
			tl.points[k] = append(tl.points[k], [2]float64{ev.at.Sub(t0).Seconds(), float64(inFlight[k])})
		}
	}
	sort.Strings(tl.keys)
	return tl
}

// waitReconciling waits until the reconciler has caught up and is taking
// runs, so that its start-up is not timed as dispatch.
func waitReconciling(ctx context.Context, p *fixture.Process) error {
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.LogText(), "msg=reconciling") {
		if time.Now().After(deadline) {
			return fmt.Errorf("the reconciler did not start within 30s (log %s)", p.Log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// waitWaiting polls the reconciler's metrics until n runs wait, shown
// Scheduled or, past their time, Late.
func waitWaiting(ctx context.Context, url string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got := waitingCount(ctx, url)
		if got == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d runs waiting after %v", got, n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitingCount is the number of runs the reconciler counts waiting, as of
// its last dispatch pass.
func waitingCount(ctx context.Context, url string) int {
	got := 0
	for _, l := range reconcilerSample(ctx, url, `flows_runs{state="Scheduled"} `, `flows_runs{state="Late"} `) {
		got += int(sampleValue(l))
	}
	return got
}

// limitWatch follows a reconciler's peak RSS while it takes runs in, and
// keeps how many runs it counted waiting when the peak first passed a
// memory limit: where a container under that limit would have been killed.
type limitWatch struct {
	limit      int64
	stop, done chan struct{}
	at         int // runs waiting when the peak passed the limit; -1 if it did not
}

// watchLimit samples every half second until stop is called.
func watchLimit(ctx context.Context, pid int, limit int64, metrics string) *limitWatch {
	w := &limitWatch{limit: limit, stop: make(chan struct{}), done: make(chan struct{}), at: -1}
	go func() {
		defer close(w.done)
		for {
			if peak, err := peakRSS(pid); err == nil && peak > limit {
				w.at = waitingCount(ctx, metrics)
				return
			}
			select {
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return w
}

// passedAt stops the watch and says where the peak passed the limit.
func (w *limitWatch) passedAt() string {
	close(w.stop)
	<-w.done
	if w.at < 0 {
		return fmt.Sprintf("the peak stayed under the rendered memory limit (%s)", mib(w.limit))
	}
	return fmt.Sprintf("the peak passed the rendered memory limit (%s) with %d runs counted waiting (sampled every 0.5 s; the count is the last pass's)", mib(w.limit), w.at)
}

// cpuNames are the processes whose CPU time the throughput figures split
// out: where a burst's time goes on a machine they all share.
var cpuNames = []string{"etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok", "flows-reconcile", "kueue"}

// cpuByProcess sums the CPU time of the control plane's processes by name
// (comm, which Linux cuts at 15 bytes), plus this process as "bench".
// Only this process's descendants count: on a shared machine, other
// control planes' processes have the same names.
func cpuByProcess() map[string]time.Duration {
	out := map[string]time.Duration{}
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			parent[pid] = parentOf(pid)
		}
	}
	ours := func(pid int) bool {
		for p := pid; p > 1; p = parent[p] {
			if p == os.Getpid() {
				return true
			}
		}
		return false
	}
	for pid := range parent {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || !ours(pid) {
			continue
		}
		name := strings.TrimSpace(string(comm))
		if pid == os.Getpid() {
			name = "bench"
		} else if !contains(cpuNames, name) {
			continue
		}
		if _, cpu, err := procUsage(pid); err == nil {
			out[name] += cpu
		}
	}
	return out
}

// parentOf reads a process's parent from /proc (0 if it is gone).
func parentOf(pid int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// cpuSince is the CPU time each process spent since before.
func cpuSince(before map[string]time.Duration) map[string]time.Duration {
	out := cpuByProcess()
	for name := range out {
		out[name] -= before[name]
	}
	return out
}

// cpuSplit formats CPU times by process, largest first.
func cpuSplit(cpu map[string]time.Duration) string {
	type kv struct {
		name string
		d    time.Duration
	}
	var list []kv
	for name, d := range cpu {
		list = append(list, kv{name, d})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].d > list[j].d })
	parts := make([]string, 0, len(list))
	for _, e := range list {
		parts = append(parts, fmt.Sprintf("%s %.1f", e.name, e.d.Seconds()))
	}
	return strings.Join(parts, ", ")
}

// cpuBeyond is, by process, what side's CPU took beyond base's, signed,
// the largest difference first; a process within 0.05 s is left out.
func cpuBeyond(side, base map[string]time.Duration) string {
	diff := map[string]time.Duration{}
	for name, d := range side {
		diff[name] += d
	}
	for name, d := range base {
		diff[name] -= d
	}
	names := make([]string, 0, len(diff))
	for name, d := range diff {
		if d.Abs() >= 50*time.Millisecond {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if a, b := diff[names[i]].Abs(), diff[names[j]].Abs(); a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, name+" "+signed(diff[name].Seconds(), ""))
	}
	return strings.Join(parts, ", ")
}

// signed formats v to a tenth with its sign, a minus sign rather than a
// hyphen, and unit after it: "+2.7 s", "−0.4 s".
func signed(v float64, unit string) string {
	sign := "+"
	if v < 0 {
		sign, v = "−", -v
	}
	return fmt.Sprintf("%s%.1f%s", sign, v, unit)
}

// totalCPU is the CPU time of all processes in cpu.
func totalCPU(cpu map[string]time.Duration) time.Duration {
	var total time.Duration
	for _, d := range cpu {
		total += d
	}
	return total
}

// reconcilerSample reads plain samples (name{labels} value) from the
// reconciler's /metrics whose series starts with one of prefixes.
func reconcilerSample(ctx context.Context, url string, prefixes ...string) []string {
	b, err := httpGet(ctx, url)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return out
}

// sampleValue is the value of a sample line reconcilerSample returned.
func sampleValue(line string) float64 {
	f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
	return f
}

// String lists the requests, resource by resource, for -v output.
func (w writes) String() string {
	var lines []string
	for res, verbs := range w {
		for verb, n := range verbs {
			lines = append(lines, fmt.Sprintf("%s %s %.0f", verb, res, n))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}

// profileSeconds is how long a CPU profile taken during a burst lasts.
const profileSeconds = "30"

// profileDuring takes a CPU profile with fetch during the first N>=1,000
// burst, once per name, when BENCH_PPROF=1; the returned func waits for it
// and writes it to -out as name.pprof.
func (b *bench) profileDuring(n int, name string, fetch func(seconds string) ([]byte, error)) func() {
	if os.Getenv("BENCH_PPROF") != "1" || n < 1000 || b.profiled[name] {
		return func() {}
	}
	b.profiled[name] = true
	done := make(chan []byte, 1)
	go func() {
		raw, _ := fetch(profileSeconds)
		done <- raw
	}()
	return func() {
		raw := <-done
		if len(raw) == 0 {
			return
		}
		_ = os.MkdirAll(b.out, 0o755)
		pf := filepath.Join(b.out, name+".pprof")
		_ = os.WriteFile(pf, raw, 0o644)
		fmt.Printf("  CPU profile, first %s s of the burst: %s (go tool pprof -top %s)\n", profileSeconds, pf, pf)
	}
}

// resumingWatch watches from rv and, when the API server ends the watch
// (as it does to a watcher that falls behind on a loaded machine), starts
// again where it left off: a figure must never hang on a lost watch.
func resumingWatch(ctx context.Context, rv string, watchFunc func(context.Context, metav1.ListOptions) (watch.Interface, error)) (watch.Interface, error) {
	return watchtools.NewRetryWatcherWithContext(ctx, rv, &cache.ListWatch{WatchFuncWithContext: watchFunc})
}
