package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"
	dto "github.com/prometheus/client_model/go"

	"github.com/kubectl-flows/kubectl-flows/test/fixture"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// apiCost is what the kube-apiserver itself reports over one burst: its
// requests and the time they took, by resource and verb; the watch events
// it sent, by resource; API Priority and Fairness by priority level; and a
// CPU profile. The difference between a flows round and a bare-Jobs round,
// per run, is what kubectl-flows costs the API server, by kind.
type apiCost struct {
	requests, seconds writes
	// watchEvents and watchBytes are the watch events sent, by resource.
	watchEvents, watchBytes map[string]float64
	// watchDelay is, by resource and dispatch stage, the summed and
	// counted delays of the watch events sent: from the write to the
	// event sent ("total"), and of that from the watch cache to the
	// watcher's stream ("cache_to_watcher"), where a watcher slow to read
	// holds up the others.
	watchDelay map[string]map[string][2]float64
	// watches is how many watches were open on each resource (by scope)
	// when the burst began.
	watches map[string]float64
	// apf is by priority level: requests dispatched, their summed and
	// counted queue wait, and the most seen waiting in its queues at once.
	apf map[string]*apfLevel
	// profiles are CPU profiles of the burst's first profileWindow, by
	// component (harness.Profiled).
	profiles map[string][]byte
}

type apfLevel struct {
	dispatched, waitSum, waitCount, maxInQueue float64
	// maxSeats is the most seats seen in use at once (sampled), of
	// limitSeats, the level's nominal limit.
	maxSeats, limitSeats float64
	schemas              map[string]float64 // flow schema -> dispatched
}

// apiMeter measures one burst: metrics before and after, a sampler of
// the APF queues, and the components' profiles.
type apiMeter struct {
	b        *bench
	before   map[string]*dto.MetricFamily
	mu       sync.Mutex
	queued   map[string]float64 // most requests in queue, by priority level
	seats    map[string]float64 // most seats executing, by priority level
	stop     chan struct{}
	done     chan struct{}
	profiles chan componentProfile
}

// componentProfile is one component's CPU profile of a burst; nil if it
// could not be taken.
type componentProfile struct {
	component string
	raw       []byte
}

// profileWindow is how long the components' CPU profiles of a burst
// last: most of a 1,000-run burst. Sampling costs each a few per cent,
// alike in every kind of round.
const profileWindow = 40 * time.Second

// meterAPIServer starts measuring a burst of n.
func (b *bench) meterAPIServer(ctx context.Context, n int) *apiMeter {
	m := &apiMeter{b: b, queued: map[string]float64{}, seats: map[string]float64{}, stop: make(chan struct{}), done: make(chan struct{})}
	m.before, _ = b.cp.APIServerMetrics(ctx)
	if n >= 1000 {
		m.profiles = make(chan componentProfile, len(harness.Profiled))
		for _, c := range harness.Profiled {
			go func() {
				raw, err := b.cp.CPUProfile(ctx, c, profileWindow)
				if err != nil {
					raw = nil
				}
				m.profiles <- componentProfile{c, raw}
			}()
		}
	}
	go m.sampleQueues(ctx)
	return m
}

// sampleQueues reads the APF queues' occupancy every few seconds: a
// gauge, which the totals cannot give. Rarely, as a scrape of the API
// server's metrics costs it too.
func (m *apiMeter) sampleQueues(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		fams, err := m.b.cp.APIServerMetrics(ctx)
		if err != nil {
			continue
		}
		m.mu.Lock()
		for name, most := range map[string]map[string]float64{
			"apiserver_flowcontrol_current_inqueue_requests": m.queued,
			"apiserver_flowcontrol_current_executing_seats":  m.seats,
		} {
			now := map[string]float64{}
			for _, s := range samples(fams, name) {
				now[s.label("priority_level")] += s.value
			}
			for pl, v := range now {
				most[pl] = max(most[pl], v)
			}
		}
		m.mu.Unlock()
	}
}

// finish ends the measurement and returns the burst's cost.
func (m *apiMeter) finish(ctx context.Context) apiCost {
	close(m.stop)
	<-m.done
	c := apiCost{}
	if m.profiles != nil {
		c.profiles = map[string][]byte{}
		for range harness.Profiled {
			p := <-m.profiles
			c.profiles[p.component] = p.raw
		}
	}
	after, err := m.b.cp.APIServerMetrics(ctx)
	if err != nil || m.before == nil {
		return c
	}
	c.requests = countsOf(after, "apiserver_request_total").minus(countsOf(m.before, "apiserver_request_total"))
	c.seconds = countsOf(after, "apiserver_request_duration_seconds").minus(countsOf(m.before, "apiserver_request_duration_seconds"))
	c.watchEvents = byResource(after, m.before, "apiserver_watch_events_total")
	c.watchBytes = byResource(after, m.before, "apiserver_watch_events_sizes")
	c.watchDelay = delayByResource(after, m.before, "apiserver_watch_events_dispatch_duration_seconds")
	c.watches = map[string]float64{}
	for _, s := range samples(m.before, "apiserver_longrunning_requests") {
		if s.label("verb") == "WATCH" {
			c.watches[s.label("resource")+" ("+s.label("scope")+")"] += s.value
		}
	}
	c.apf = m.apfLevels(after)
	return c
}

// apfLevels is APF's account of the burst, by priority level.
func (m *apiMeter) apfLevels(after map[string]*dto.MetricFamily) map[string]*apfLevel {
	out := map[string]*apfLevel{}
	level := func(pl string) *apfLevel {
		if out[pl] == nil {
			out[pl] = &apfLevel{schemas: map[string]float64{}}
		}
		return out[pl]
	}
	grown(after, m.before, "apiserver_flowcontrol_dispatched_requests_total", func(s sample, v float64) {
		l := level(s.label("priority_level"))
		l.dispatched += v
		l.schemas[s.label("flow_schema")] += v
	})
	grown(after, m.before, "apiserver_flowcontrol_request_wait_duration_seconds", func(s sample, v float64) {
		l := level(s.label("priority_level"))
		if s.part == "count" {
			l.waitCount += v
		} else {
			l.waitSum += v
		}
	})
	m.mu.Lock()
	for pl, q := range m.queued {
		level(pl).maxInQueue = q
	}
	for pl, q := range m.seats {
		level(pl).maxSeats = q
	}
	m.mu.Unlock()
	for _, s := range samples(after, "apiserver_flowcontrol_nominal_limit_seats") {
		if l := out[s.label("priority_level")]; l != nil {
			l.limitSeats = s.value
		}
	}
	return out
}

// sample is one series of a family: a counter or gauge's value, or a
// histogram's sum or count (part).
type sample struct {
	labels map[string]string
	key    string // labels and part, as one string
	part   string
	value  float64
}

func (s sample) label(name string) string { return s.labels[name] }

func samples(fams map[string]*dto.MetricFamily, name string) []sample {
	fam := fams[name]
	if fam == nil {
		return nil
	}
	var out []sample
	for _, m := range fam.Metric {
		l := map[string]string{}
		var key strings.Builder
		for _, p := range m.Label {
			l[p.GetName()] = p.GetValue()
			fmt.Fprintf(&key, "%s=%s,", p.GetName(), p.GetValue())
		}
		switch {
		case m.Histogram != nil:
			out = append(out,
				sample{labels: l, key: key.String() + "sum", part: "sum", value: m.Histogram.GetSampleSum()},
				sample{labels: l, key: key.String() + "count", part: "count", value: float64(m.Histogram.GetSampleCount())})
		case m.Counter != nil:
			out = append(out, sample{labels: l, key: key.String(), value: m.Counter.GetValue()})
		case m.Gauge != nil:
			out = append(out, sample{labels: l, key: key.String(), value: m.Gauge.GetValue()})
		}
	}
	return out
}

// countsOf sums a family by resource (with subresource) and verb: a
// counter's values, or a histogram's sums.
func countsOf(fams map[string]*dto.MetricFamily, name string) writes {
	w := writes{}
	for _, s := range samples(fams, name) {
		if s.part == "count" {
			continue
		}
		res := s.label("resource")
		if sub := s.label("subresource"); sub != "" {
			res += "/" + sub
		}
		if w[res] == nil {
			w[res] = map[string]float64{}
		}
		w[res][s.label("verb")] += s.value
	}
	return w
}

// byResource is a counter's (or a histogram's sum's) growth by resource
// (older API servers label it by kind).
func byResource(after, before map[string]*dto.MetricFamily, name string) map[string]float64 {
	sum := func(fams map[string]*dto.MetricFamily) map[string]float64 {
		out := map[string]float64{}
		for _, s := range samples(fams, name) {
			if s.part == "count" {
				continue
			}
			res := s.label("resource")
			if res == "" {
				res = strings.ToLower(s.label("kind")) + "s"
			}
			out[res] += s.value
		}
		return out
	}
	a, b := sum(after), sum(before)
	for k := range a {
		a[k] -= b[k]
	}
	return a
}

// grown calls each with every series of a family (a histogram's sum and
// count apart) that grew, or shrank, between before and after, and by
// how much.
func grown(after, before map[string]*dto.MetricFamily, name string, each func(s sample, v float64)) {
	was := map[string]float64{}
	for _, s := range samples(before, name) {
		was[s.key] = s.value
	}
	for _, s := range samples(after, name) {
		if v := s.value - was[s.key]; v != 0 {
			each(s, v)
		}
	}
}

// delayByResource is a histogram's growth, its sum and count, by resource
// and stage.
func delayByResource(after, before map[string]*dto.MetricFamily, name string) map[string]map[string][2]float64 {
	out := map[string]map[string][2]float64{}
	grown(after, before, name, func(s sample, v float64) {
		res, stage := s.label("resource"), s.label("stage")
		if out[res] == nil {
			out[res] = map[string][2]float64{}
		}
		d := out[res][stage]
		if s.part == "count" {
			d[1] += v
		} else {
			d[0] += v
		}
		out[res][stage] = d
	})
	return out
}

// cpuWork is a kind of work a component's CPU goes to: a profile's
// sample is of the first kind, in a component's order, that any frame of
// its stack matches (one of the |-separated parts of match is in the
// frame's function name).
type cpuWork struct{ name, match string }

// profiledWork is, for each of harness.Profiled, the work its CPU profile
// is sorted into (the rest as "other"): for kube-apiserver what it
// served, for etcd where a write and a watch go, for
// kube-controller-manager which controller (the Job controller is the one
// a run's Job wakes) and what its informers cost.
var profiledWork = map[string][]cpuWork{
	"kube-apiserver":          apiserverWork,
	"etcd":                    etcdWork,
	"kube-controller-manager": controllerManagerWork,
}

var goGC = cpuWork{"garbage collection", "runtime.gcBgMarkWorker|runtime.bgsweep|runtime.bgscavenge"}

var apiserverWork = []cpuWork{
	{"watch: encoding and sending events to watchers", "handlers.(*WatchServer)|watchEncoder|serveWatch"},
	{"watch: watch cache and dispatch to watchers", "cacher.(*Cacher)|cacher.(*cacheWatcher)|cacher.(*watchCache)|cacher.(*Reflector)|cacher.(*cacheInterval)"},
	{"managed fields", "managedfields|structured-merge-diff"},
	{"admission", "apiserver/pkg/admission|plugin/pkg/admission|validatingadmissionpolicy"},
	{"etcd client and storage", "storage/etcd3|go.etcd.io"},
	{"request decode, response encode", "runtime/serializer|handlers.transformResponseObject|negotiation"},
	{"authentication, authorization", "pkg/authentication|pkg/authorization|plugin/pkg/auth"},
	goGC,
	{"HTTP/2, TLS connections", "crypto/tls|http2.(*serverConn)|http2.(*Framer)"},
	{"other request handling: filters, priority and fairness, routing, REST handlers", "k8s.io/apiserver/pkg/|go-restful|kube-aggregator|net/http"},
}

var etcdWork = []cpuWork{
	{"watch: events to the API server's watches", "mvcc.(*watchableStore)|mvcc.(*watchStream)|v3rpc.(*serverWatchStream)|mvcc.(*watcherGroup)"},
	{"raft and the write-ahead log", "go.etcd.io/raft|storage/wal|etcdserver.(*raftNode)|rafthttp"},
	{"applying writes and reads: MVCC, bbolt", "storage/mvcc|go.etcd.io/bbolt|storage/backend|etcdserver/apply|etcdserver.(*EtcdServer).apply"},
	{"requests: gRPC, HTTP/2", "google.golang.org/grpc|golang.org/x/net/http2|v3rpc"},
	goGC,
}

var controllerManagerWork = []cpuWork{
	{"the Job controller", "pkg/controller/job"},
	{"the garbage collector (owner references)", "pkg/controller/garbagecollector"},
	{"other controllers: pod GC, TTL after finished, namespaces", "k8s.io/kubernetes/pkg/controller/"},
	{"informers: watch decode and caches", "client-go/tools/cache|apimachinery/pkg/watch|client-go/rest/watch|runtime/serializer"},
	{"API requests: client, HTTP/2, TLS", "client-go/rest|net/http|golang.org/x/net/http2|crypto/tls"},
	goGC,
}

// profileShares is the share of a CPU profile's samples in each kind of
// work (the rest as "other").
func profileShares(raw []byte, work []cpuWork) (map[string]float64, error) {
	p, err := profile.ParseData(raw)
	if err != nil {
		return nil, err
	}
	counts := map[string]float64{}
	var total float64
	for _, s := range p.Sample {
		v := float64(s.Value[len(s.Value)-1])
		total += v
		counts[workOf(s, work)] += v
	}
	if total == 0 {
		return counts, nil
	}
	for k := range counts {
		counts[k] /= total
	}
	return counts, nil
}

func workOf(s *profile.Sample, work []cpuWork) string {
	for _, c := range work {
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function == nil {
					continue
				}
				for _, m := range strings.Split(c.match, "|") {
					if strings.Contains(line.Function.Name, m) {
						return c.name
					}
				}
			}
		}
	}
	return "other"
}

// watcher is one watch request the API server's audit log recorded.
type watcher struct{ user, agent, resource, namespace, selector string }

// watchers reads who watches configmaps and jobs in ns or cluster-wide,
// from the audit log a control plane started with
// KUBECTL_FLOWS_HARNESS_AUDIT_WATCHES=1 keeps; each informer counted once
// however often it watched again.
func watchers(auditLog, ns string) ([]watcher, error) {
	f, err := os.Open(auditLog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[watcher]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			RequestURI string `json:"requestURI"`
			UserAgent  string `json:"userAgent"`
			User       struct {
				Username string `json:"username"`
			} `json:"user"`
			ObjectRef struct {
				Resource, Namespace string
			} `json:"objectRef"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		r := ev.ObjectRef
		if (r.Resource != "configmaps" && r.Resource != "jobs") || (r.Namespace != "" && r.Namespace != ns) {
			continue
		}
		agent, _, _ := strings.Cut(ev.UserAgent, " ")
		if i := strings.LastIndexByte(ev.UserAgent, '/'); i >= 0 && strings.Contains(ev.UserAgent[i:], "informers") {
			agent += ev.UserAgent[i:] // kube-controller-manager's shared or metadata informers
		}
		w := watcher{user: ev.User.Username, agent: agent, resource: r.Resource, namespace: r.Namespace}
		if u, err := url.Parse(ev.RequestURI); err == nil {
			q := u.Query()
			w.selector = strings.Trim(q.Get("labelSelector")+" "+q.Get("fieldSelector"), " ")
		}
		if w.namespace == "" {
			w.namespace = "(all)"
		}
		seen[w] = true
	}
	out := make([]watcher, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.resource+a.namespace+a.user+a.agent+a.selector < b.resource+b.namespace+b.user+b.agent+b.selector
	})
	return out, sc.Err()
}

// apiserverBreakdown writes what the kube-apiserver did per run in the
// flows rounds beyond the bare-Jobs rounds, by kind of work, to
// apiserver-breakdown.md beside the results, with the first round's
// profiles; it returns the table row of the API server's CPU per run.
func (b *bench) apiserverBreakdown(ctx context.Context, n int, base, floor, flows []burst, flowsNS string) row {
	idle := b.idleAPIServerRate(ctx)
	meanTook := func(rs []burst) (took float64) {
		for _, r := range rs {
			took += r.took.Seconds()
		}
		return took / float64(len(rs))
	}
	baseCPU, baseTook := apiserverPerRun(base, n), meanTook(base)
	flowsCPU, flowsTook := apiserverPerRun(flows, n), meanTook(flows)
	var s strings.Builder
	fmt.Fprintf(&s, "# kube-apiserver, etcd and kube-controller-manager: where a run's cost goes\n\n%s.\n\n", machine())
	fmt.Fprintf(&s, "N=%d, mean of %d bare-Jobs and %d kubectl-flows rounds. Per run: kube-apiserver CPU %.1f ms bare, %.1f ms with kubectl-flows (%+.1f ms, ratio %.2f).\n",
		n, len(base), len(flows), 1000*baseCPU, 1000*flowsCPU, 1000*(flowsCPU-baseCPU), flowsCPU/baseCPU)
	if len(floor) > 0 {
		floorCPU := apiserverPerRun(floor, n)
		fmt.Fprintf(&s, "At the floor (%d rounds: each run's ConfigMap, its Job and its final state written by the bench, no reconciler; see bench/README.md): %.1f ms (ratio %.2f to bare); kubectl-flows %+.1f ms over it.\n",
			len(floor), 1000*floorCPU, floorCPU/baseCPU, 1000*(flowsCPU-floorCPU))
	}
	fmt.Fprintf(&s, "With no burst running (measured for 10 s after the rounds), the API server spends %.0f ms of CPU a second; a flows round lasting %.1f s longer costs %.1f ms per run of that alone.\n\n",
		1000*idle, flowsTook-baseTook, 1000*idle*(flowsTook-baseTook)/float64(n))

	s.WriteString("## Requests per run, by resource and verb\n\n| resource | verb | bare Jobs | the floor | kubectl-flows | extra over bare | extra over the floor | request seconds per run, extra over bare (ms) |\n|---|---|---|---|---|---|---|---|\n")
	for _, l := range requestLines(n, base, floor, flows) {
		s.WriteString(l)
	}
	s.WriteString("\n## Watch events sent per run, by resource\n\n| resource | bare Jobs | the floor | kubectl-flows | extra over bare | extra over the floor | extra bytes over bare | extra bytes over the floor |\n|---|---|---|---|---|---|---|---|\n")
	for _, l := range watchLines(n, base, floor, flows) {
		s.WriteString(l)
	}
	s.WriteString("\n## Watch delivery: a write to its event sent, by resource\n\nThe API server's own account (apiserver_watch_events_dispatch_duration_seconds), mean over every event sent to every watcher of the resource, the rounds of each kind together. Of that, from its watch cache to the watcher's stream: a watcher whose buffer is full holds the dispatch of every event of the resource up, for all its watchers.\n\n| resource | bare Jobs | the floor | kubectl-flows | of which cache to watcher: bare Jobs | the floor | kubectl-flows |\n|---|---|---|---|---|---|---|\n")
	for _, l := range watchDelayLines(base, floor, flows) {
		s.WriteString(l)
	}
	s.WriteString("\n## Open watches when a flows burst began\n\n| resource (scope) | bare-Jobs round | flows round |\n|---|---|---|\n")
	for _, res := range []string{"configmaps", "jobs", "pods", "events"} {
		for _, scope := range []string{"cluster", "namespace", "resource"} {
			k := res + " (" + scope + ")"
			bw, fw := base[0].api.watches[k], flows[0].api.watches[k]
			if bw+fw > 0 {
				fmt.Fprintf(&s, "| %s | %.0f | %.0f |\n", k, bw, fw)
			}
		}
	}
	if ws, err := watchers(harness.WatchAuditLog(b.cp.Dir), flowsNS); err == nil {
		s.WriteString("\nWho watches configmaps and jobs that a flows round's namespace holds (from the API server's audit log of watch requests):\n\n| resource | namespace | user | client | selector |\n|---|---|---|---|---|\n")
		for _, w := range ws {
			fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", w.resource, w.namespace, w.user, w.agent, w.selector)
		}
	}
	s.WriteString(b.profileSection(n, base, floor, flows))
	s.WriteString(apfSection(flows))
	_ = os.MkdirAll(b.out, 0o755)
	_ = os.WriteFile(filepath.Join(b.out, "apiserver-breakdown.md"), []byte(s.String()), 0o644)
	return row{
		figure:   fmt.Sprintf("kube-apiserver CPU per run over the N=%d burst", n),
		baseline: fmt.Sprintf("%.1f ms", 1000*baseCPU), flows: fmt.Sprintf("%.1f ms", 1000*flowsCPU),
		note: fmt.Sprintf("mean of the rounds, the ratio the median (range) of the cycles' own; idle it spends %.0f ms a second, so each second a round lasts longer costs it that: %.1f ms per run here. By kind of work: [apiserver-breakdown.md](apiserver-breakdown.md)",
			1000*idle, 1000*idle*(flowsTook-baseTook)/float64(n)),
	}
}

// idleAPIServerRate is the kube-apiserver's CPU a second with nothing
// running but the control plane itself.
func (b *bench) idleAPIServerRate(ctx context.Context) float64 {
	cpu0 := cpuByProcess()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	return cpuSince(cpu0)["kube-apiserver"].Seconds() / 10
}

func requestLines(n int, base, floor, flows []burst) []string {
	mean := func(rs []burst, pick func(apiCost) writes) writes {
		out := writes{}
		for _, r := range rs {
			for res, verbs := range pick(r.api) {
				if out[res] == nil {
					out[res] = map[string]float64{}
				}
				for v, x := range verbs {
					out[res][v] += x / float64(len(rs)) / float64(n)
				}
			}
		}
		return out
	}
	requests := func(c apiCost) writes { return c.requests }
	bc, lc, fc := mean(base, requests), mean(floor, requests), mean(flows, requests)
	bs, fs := mean(base, func(c apiCost) writes { return c.seconds }), mean(flows, func(c apiCost) writes { return c.seconds })
	keys := map[[2]string]bool{}
	for _, w := range []writes{bc, lc, fc} {
		for res, verbs := range w {
			for v := range verbs {
				keys[[2]string{res, v}] = true
			}
		}
	}
	var lines []string
	for k := range keys {
		res, v := k[0], k[1]
		if bc[res][v] < 0.005 && lc[res][v] < 0.005 && fc[res][v] < 0.005 {
			continue
		}
		lines = append(lines, fmt.Sprintf("| %s | %s | %.2f | %.2f | %.2f | %+.2f | %+.2f | %+.2f |\n",
			res, v, bc[res][v], lc[res][v], fc[res][v], fc[res][v]-bc[res][v], fc[res][v]-lc[res][v], 1000*(fs[res][v]-bs[res][v])))
	}
	sort.Strings(lines)
	return lines
}

func watchLines(n int, base, floor, flows []burst) []string {
	mean := func(rs []burst, pick func(apiCost) map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for _, r := range rs {
			for res, x := range pick(r.api) {
				out[res] += x / float64(len(rs)) / float64(n)
			}
		}
		return out
	}
	events := func(c apiCost) map[string]float64 { return c.watchEvents }
	sent := func(c apiCost) map[string]float64 { return c.watchBytes }
	be, le, fe := mean(base, events), mean(floor, events), mean(flows, events)
	bb, lb, fb := mean(base, sent), mean(floor, sent), mean(flows, sent)
	seen := map[string]bool{}
	var lines []string
	for _, m := range []map[string]float64{be, le, fe} {
		for res := range m {
			if seen[res] || be[res] < 0.005 && le[res] < 0.005 && fe[res] < 0.005 {
				continue
			}
			seen[res] = true
			lines = append(lines, fmt.Sprintf("| %s | %.2f | %.2f | %.2f | %+.2f | %+.2f | %+.0f | %+.0f |\n",
				res, be[res], le[res], fe[res], fe[res]-be[res], fe[res]-le[res], fb[res]-bb[res], fb[res]-lb[res]))
		}
	}
	sort.Strings(lines)
	return lines
}

// watchDelayLines give, by resource, the mean delay of an event sent in
// each kind of round, in total and from the watch cache to the watcher.
func watchDelayLines(base, floor, flows []burst) []string {
	mean := func(rs []burst, res, stage string) string {
		var sum, count float64
		for _, r := range rs {
			v := r.api.watchDelay[res][stage]
			sum, count = sum+v[0], count+v[1]
		}
		if count == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f ms", 1000*sum/count)
	}
	seen := map[string]bool{}
	var lines []string
	for _, rs := range [][]burst{base, floor, flows} {
		for _, r := range rs {
			for res, stages := range r.api.watchDelay {
				if seen[res] || stages["total"][1] < 100 {
					continue // a resource barely written during the bursts
				}
				seen[res] = true
				lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |\n", res,
					mean(base, res, "total"), mean(floor, res, "total"), mean(flows, res, "total"),
					mean(base, res, "cache_to_watcher"), mean(floor, res, "cache_to_watcher"), mean(flows, res, "cache_to_watcher")))
			}
		}
	}
	sort.Strings(lines)
	return lines
}

// profileSection splits the CPU per run of each profiled component by
// its work, in each kind of round, from the rounds' profiles (their
// shares, applied to the rounds' whole CPU of the component), and saves
// the first profile of each component and kind.
func (b *bench) profileSection(n int, base, floor, flows []burst) string {
	_ = os.MkdirAll(b.out, 0o755)
	var s strings.Builder
	for _, component := range harness.Profiled {
		kinds := []struct {
			file string
			rs   []burst
		}{{"baseline", base}, {"floor", floor}, {"flows", flows}}
		var shares []map[string]float64
		var perRun []float64
		var files []string
		for _, k := range kinds {
			file := component + "-" + k.file + ".pprof"
			sh := b.meanShares(k.rs, component, file)
			if len(sh) > 0 {
				files = append(files, file)
			}
			shares = append(shares, sh)
			perRun = append(perRun, cpuPerRun(k.rs, n, processName(component)))
		}
		if len(shares[0]) == 0 || len(shares[2]) == 0 {
			fmt.Fprintf(&s, "\n## %s CPU per run, by its work\n\n(No CPU profiles of it were taken.)\n", component)
			continue
		}
		fmt.Fprintf(&s, "\n## %s CPU per run, by its work\n\nFrom CPU profiles of each round's first %v (shares of the samples, applied to the rounds' whole CPU of %s: %.1f ms per run bare, %.1f at the floor, %.1f with kubectl-flows; profiles %s, `go tool pprof -top FILE`).\n\n| work | bare Jobs (ms per run) | the floor | kubectl-flows | extra over bare | extra over the floor |\n|---|---|---|---|---|---|\n",
			component, profileWindow, component, 1000*perRun[0], 1000*perRun[1], 1000*perRun[2], strings.Join(files, ", "))
		var names []string
		for _, w := range profiledWork[component] {
			names = append(names, w.name)
		}
		for _, w := range append(names, "other") {
			v := make([]float64, len(kinds))
			for i := range kinds {
				v[i] = 1000 * shares[i][w] * perRun[i]
			}
			floorCol, overFloor := "–", "–"
			if len(shares[1]) > 0 {
				floorCol, overFloor = fmt.Sprintf("%.2f", v[1]), fmt.Sprintf("%+.2f", v[2]-v[1])
			}
			fmt.Fprintf(&s, "| %s | %.2f | %s | %.2f | %+.2f | %s |\n", w, v[0], floorCol, v[2], v[2]-v[0], overFloor)
		}
	}
	return s.String()
}

// meanShares is the mean, over the rounds that have a profile of
// component, of its shares by work; the first of those profiles is saved
// as file. Empty when no round has one.
func (b *bench) meanShares(rs []burst, component, file string) map[string]float64 {
	out := map[string]float64{}
	got := 0
	for _, r := range rs {
		raw := r.api.profiles[component]
		if len(raw) == 0 {
			continue
		}
		sh, err := profileShares(raw, profiledWork[component])
		if err != nil {
			continue
		}
		if got == 0 {
			_ = os.WriteFile(filepath.Join(b.out, file), raw, 0o644)
		}
		got++
		for k, v := range sh {
			out[k] += v
		}
	}
	for k := range out {
		out[k] /= float64(got)
	}
	return out
}

// processName is a component's process name as Linux keeps it (comm, cut
// at 15 bytes), which cpuByProcess counts CPU under.
func processName(component string) string { return component[:min(len(component), 15)] }

// apfSection is API Priority and Fairness's account of the flows rounds,
// by priority level: where the reconciler's requests went, and whether
// they waited in a queue.
func apfSection(flows []burst) string {
	type tot struct {
		apfLevel
		schemas map[string]float64
	}
	levels := map[string]*tot{}
	for _, r := range flows {
		for pl, l := range r.api.apf {
			t := levels[pl]
			if t == nil {
				t = &tot{schemas: map[string]float64{}}
				levels[pl] = t
			}
			t.dispatched += l.dispatched
			t.waitSum += l.waitSum
			t.waitCount += l.waitCount
			t.maxInQueue = max(t.maxInQueue, l.maxInQueue)
			t.maxSeats, t.limitSeats = max(t.maxSeats, l.maxSeats), l.limitSeats
			for fs, v := range l.schemas {
				t.schemas[fs] += v
			}
		}
	}
	var names []string
	for pl := range levels {
		names = append(names, pl)
	}
	sort.Strings(names)
	var s strings.Builder
	s.WriteString("\n## API Priority and Fairness during the flows rounds\n\nThe reconciler runs as its own ServiceAccount with the rendered Role, as in a user's cluster (flow schema service-accounts); the bench's own client is an admin (exempt); the controllers run as kube-system ServiceAccounts. Occupancy is sampled every 5 s.\n\n| priority level | flow schemas (requests) | requests | mean wait in queue | most waiting at once | most seats in use, of its nominal limit |\n|---|---|---|---|---|---|\n")
	for _, pl := range names {
		t := levels[pl]
		var fs []string
		for name, v := range t.schemas {
			fs = append(fs, fmt.Sprintf("%s %.0f", name, v))
		}
		sort.Strings(fs)
		wait := 0.0
		if t.waitCount > 0 {
			wait = t.waitSum / t.waitCount
		}
		fmt.Fprintf(&s, "| %s | %s | %.0f | %.2f ms | %.0f | %.0f of %.0f |\n", pl, strings.Join(fs, ", "), t.dispatched, 1000*wait, t.maxInQueue, t.maxSeats, t.limitSeats)
	}
	return s.String()
}

// reconcilerKubeconfig is a kubeconfig of the reconciler's own
// ServiceAccount with the rendered Role, as it runs in a user's cluster:
// the admin's requests are exempt from API Priority and Fairness, its
// ServiceAccount's are not.
func (b *bench) reconcilerKubeconfig(ctx context.Context, p *fixture.Project) (string, error) {
	if err := p.CreateRBAC(ctx, b.client, "reconciler.yaml"); err != nil {
		return "", err
	}
	return b.cp.KubeconfigForServiceAccount(ctx, p.Namespace, "flows-reconciler")
}
