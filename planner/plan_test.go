package planner

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
	"github.com/kubectl-flows/kubectl-flows/project"
)

var planNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// planConfig is the config of the planner's tests: pool p with queues hi
// (priority 1), lo (priority 10) and slow; pool other; deployments f/a and
// f/b in p/lo, f/c in p/hi, f/d in p/slow, f/o in other.
func planConfig(change func(*project.Installed)) *project.Installed {
	pool := func(name string, queues ...v1alpha1.Queue) *project.InstalledPool {
		return &project.InstalledPool{Pool: v1alpha1.Pool{Name: name, Queues: queues}, Template: jobtemplate.Default(), PausedQueues: map[string]bool{}}
	}
	dep := func(flow, name, pool, queue string) *project.InstalledDeployment {
		return &project.InstalledDeployment{Deployment: v1alpha1.Deployment{Flow: flow, Name: name, Pool: pool, Queue: queue, Image: "img:1", Entrypoint: "flows/x.py:x"}}
	}
	cfg := &project.Installed{
		Pools: map[string]*project.InstalledPool{
			"p":     pool("p", v1alpha1.Queue{Name: "hi", Priority: 1}, v1alpha1.Queue{Name: "lo", Priority: 10}, v1alpha1.Queue{Name: "slow", Priority: 10}),
			"other": pool("other", v1alpha1.Queue{Name: "default", Priority: 1}),
		},
		Deployments: map[string]*project.InstalledDeployment{
			"f/a": dep("f", "a", "p", "lo"), "f/b": dep("f", "b", "p", "lo"),
			"f/c": dep("f", "c", "p", "hi"), "f/d": dep("f", "d", "p", "slow"),
			"f/o": dep("f", "o", "other", "default"),
		},
		TagLimits: map[string]int32{},
		Errors:    map[string]error{},
	}
	if change != nil {
		change(cfg)
	}
	return cfg
}

// planRun is a waiting run of a test: created at planNow+created, due at
// planNow+due if due is set.
type planRun struct {
	name, deployment string
	created          time.Duration
	due              *time.Duration
	tags             []string
	state            v1alpha1.RunState
	raw              string // the run request as stored, instead of one built from the fields above
	edit             func(*WaitingRun)
}

func (r planRun) waiting(t *testing.T, cache *RunCache) WaitingRun {
	t.Helper()
	data := r.raw
	if data == "" {
		req := &v1alpha1.RunRequest{Deployment: r.deployment, Tags: r.tags}
		if r.due != nil {
			req.ScheduledTime = &metav1.Time{Time: planNow.Add(*r.due)}
		}
		var err error
		if data, err = v1alpha1.EncodeRunRequest(req); err != nil {
			t.Fatal(err)
		}
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: r.name, Namespace: "flows", UID: types.UID("uid-" + r.name), ResourceVersion: "1",
		CreationTimestamp: metav1.NewTime(planNow.Add(r.created)),
	}, Data: map[string]string{v1alpha1.KeyRun: data}}
	w := WaitingRun{ConfigMap: cm, Parsed: cache.Get(cm), State: r.state}
	if r.edit != nil {
		r.edit(&w)
	}
	return w
}

func describeDecision(d Decision) string {
	name := d.Run.ConfigMap.Name
	switch d.Kind {
	case DecideAdmit:
		return "admit " + name
	case DecideReject:
		return fmt.Sprintf("reject %s %s", name, d.Rejection.Reason)
	case DecideCancelNew:
		return "cancel " + name
	}
	s := fmt.Sprintf("wait %s %s: %s", name, d.Reason, d.Message)
	if !d.Writes() {
		s += " (no write)"
	}
	return s
}

// rateCase is a tag's rate in a plan test, with its starts before now.
type rateCase struct {
	rate   string
	burst  int32
	starts []time.Duration
}

// labelled gives a waiting run the deployment label value v.
func labelled(v string) func(*WaitingRun) {
	return func(w *WaitingRun) { w.ConfigMap.Labels = map[string]string{v1alpha1.LabelDeployment: v} }
}

// retry makes a waiting run a retry: its attempt, due at planNow+due.
func retry(attempt int32, due time.Duration) func(*WaitingRun) {
	return func(w *WaitingRun) { w.Attempt, w.RetryAt = attempt, planNow.Add(due) }
}

func TestPlan(t *testing.T) {
	ago := func(d time.Duration) *time.Duration { d = -d; return &d }
	in := func(d time.Duration) *time.Duration { return &d }
	limit := func(n int32) *int32 { return &n }
	type held map[[2]string]int32
	cases := []struct {
		name     string
		config   func(*project.Installed)
		held     held
		creating []Slots
		runs     []planRun
		want     []string
		wake     time.Time
		slotWait bool
		counts   map[v1alpha1.RunState]int
		retry    bool
		rates    map[string]rateCase
	}{{
		name: "no limits: all admitted, in queue priority, then scheduled time, then creation, then name",
		runs: []planRun{
			{name: "late-lo", deployment: "f/a", created: -time.Minute, due: ago(5 * time.Second)},
			{name: "early-lo", deployment: "f/a", created: 0, due: ago(10 * time.Second)},
			{name: "hi", deployment: "f/c", created: 0},
			{name: "old", deployment: "f/b", created: -2 * time.Minute, due: ago(5 * time.Second)},
			{name: "b-same", deployment: "f/b", created: -2 * time.Minute, due: ago(5 * time.Second)},
		},
		want: []string{"admit hi", "admit early-lo", "admit b-same", "admit old", "admit late-lo"},
	}, {
		name:   "pool limit: the first in order takes the last slot",
		config: func(c *project.Installed) { c.Pools["p"].ConcurrencyLimit = limit(2) },
		held:   held{{project.SlotPool, "p"}: 1},
		runs: []planRun{
			{name: "second", deployment: "f/a", created: -time.Second},
			{name: "first", deployment: "f/a", created: -2 * time.Second},
		},
		want:     []string{"admit first", "wait second WaitingForSlot: waiting for a free slot of pool p"},
		slotWait: true,
	}, {
		name:   "queue limit binds alone; the pool's other queue is served",
		config: func(c *project.Installed) { c.Pools["p"].Queues[1].ConcurrencyLimit = limit(1) },
		runs: []planRun{
			{name: "lo1", deployment: "f/a", created: -3 * time.Second},
			{name: "lo2", deployment: "f/b", created: -2 * time.Second},
			{name: "slow", deployment: "f/d", created: -1 * time.Second},
		},
		want:     []string{"admit lo1", "wait lo2 WaitingForSlot: waiting for a free slot of queue p/lo", "admit slow"},
		slotWait: true,
	}, {
		name: "tag limit binds alone, across deployments and pools",
		config: func(c *project.Installed) {
			c.TagLimits["db"] = 1
		},
		runs: []planRun{
			{name: "t1", deployment: "f/o", created: -3 * time.Second, tags: []string{"db"}},
			{name: "t2", deployment: "f/a", created: -2 * time.Second, tags: []string{"db"}},
			{name: "untagged", deployment: "f/a", created: -1 * time.Second},
		},
		want:     []string{"admit t1", "wait t2 WaitingForSlot: waiting for a free slot of tag db", "admit untagged"},
		slotWait: true,
	}, {
		name:   "deployment limit binds alone; the deployment's runs wait, others go",
		config: func(c *project.Installed) { c.Deployments["f/a"].ConcurrencyLimit = limit(1) },
		held:   held{{project.SlotDeployment, "f/a"}: 1},
		runs: []planRun{
			{name: "a1", deployment: "f/a", created: -2 * time.Second},
			{name: "b1", deployment: "f/b", created: -1 * time.Second},
		},
		want:     []string{"wait a1 WaitingForSlot: waiting for a free slot of deployment f/a", "admit b1"},
		slotWait: true,
	}, {
		name: "all four limits together: each run waits on the first that binds it; the rest go",
		config: func(c *project.Installed) {
			c.Pools["other"].ConcurrencyLimit = limit(1)
			c.Pools["p"].Queues[0].ConcurrencyLimit = limit(1)
			c.Deployments["f/a"].ConcurrencyLimit = limit(1)
			c.TagLimits["gpu"] = 2
		},
		held:     held{{project.SlotTag, "gpu"}: 1},
		creating: []Slots{SlotsOf("p", "hi", "f/c", nil)}, // queue p/hi is full
		runs: []planRun{
			{name: "other1", deployment: "f/o", created: -9 * time.Second},
			{name: "other2", deployment: "f/o", created: -8 * time.Second},
			{name: "hi", deployment: "f/c", created: -7 * time.Second},
			{name: "a1", deployment: "f/a", created: -6 * time.Second},
			{name: "a2", deployment: "f/a", created: -5 * time.Second},
			{name: "gpu1", deployment: "f/b", created: -4 * time.Second, tags: []string{"gpu"}},
			{name: "gpu2", deployment: "f/d", created: -3 * time.Second, tags: []string{"gpu"}},
			{name: "b", deployment: "f/b", created: -2 * time.Second},
		},
		want: []string{
			"admit other1",
			"wait other2 WaitingForSlot: waiting for a free slot of pool other",
			"wait hi WaitingForSlot: waiting for a free slot of queue p/hi",
			"admit a1",
			"wait a2 WaitingForSlot: waiting for a free slot of deployment f/a",
			"admit gpu1",
			"wait gpu2 WaitingForSlot: waiting for a free slot of tag gpu",
			"admit b",
		},
		slotWait: true,
	}, {
		name: "CancelNew: a run of a full deployment is cancelled, not queued; with room it is admitted",
		config: func(c *project.Installed) {
			c.Deployments["f/a"].ConcurrencyLimit = limit(1)
			c.Deployments["f/a"].CollisionStrategy = v1alpha1.CollisionCancelNew
		},
		runs: []planRun{
			{name: "a1", deployment: "f/a", created: -2 * time.Second},
			{name: "a2", deployment: "f/a", created: -1 * time.Second},
		},
		want: []string{"admit a1", "cancel a2"},
	}, {
		name: "CancelNew does not cancel a run blocked by its pool rather than its deployment",
		config: func(c *project.Installed) {
			c.Pools["p"].ConcurrencyLimit = limit(0)
			c.Deployments["f/a"].ConcurrencyLimit = limit(1)
			c.Deployments["f/a"].CollisionStrategy = v1alpha1.CollisionCancelNew
		},
		runs:     []planRun{{name: "a1", deployment: "f/a"}},
		want:     []string{"wait a1 WaitingForSlot: waiting for a free slot of pool p"},
		slotWait: true,
	}, {
		name: "paused pool, queue (by config and by kubectl) and deployment hold their runs; others go",
		config: func(c *project.Installed) {
			c.Pools["other"].Paused = true
			c.Pools["p"].Queues[0].Paused = true
			c.Pools["p"].PausedQueues["slow"] = true
			c.Deployments["f/b"].Paused = true
		},
		runs: []planRun{
			{name: "o", deployment: "f/o"},
			{name: "hi", deployment: "f/c"},
			{name: "slow", deployment: "f/d"},
			{name: "b", deployment: "f/b"},
			{name: "a", deployment: "f/a"},
			{name: "b-again", deployment: "f/b", state: v1alpha1.StateScheduled},
		},
		want: []string{
			"wait o Paused: pool other is paused",
			"wait hi Paused: queue p/hi is paused",
			"wait slow Paused: queue p/slow is paused",
			"wait b Paused: deployment f/b is paused",
			"wait b-again Paused: deployment f/b is paused (no write)",
			"admit a",
		},
	}, {
		name: "paused by kubectl (the annotations) as by config; of several pauses the outermost is named",
		config: func(c *project.Installed) {
			c.Pools["other"].PausedByAnnotation = true
			c.Deployments["f/o"].Paused = true
			c.Pools["p"].PausedQueues["hi"] = true
			c.Deployments["f/c"].PausedByAnnotation = true
			c.Deployments["f/b"].PausedByAnnotation = true
		},
		runs: []planRun{
			{name: "o", deployment: "f/o"},
			{name: "c", deployment: "f/c"},
			{name: "b", deployment: "f/b"},
			{name: "a", deployment: "f/a"},
		},
		want: []string{
			"wait o Paused: pool other is paused",
			"wait c Paused: queue p/hi is paused",
			"wait b Paused: deployment f/b is paused",
			"admit a",
		},
	}, {
		name: "not yet due: waits, and the pass wakes at the earliest due time; Late is counted",
		runs: []planRun{
			{name: "soon", deployment: "f/a", due: in(time.Minute)},
			{name: "sooner", deployment: "f/a", due: in(30 * time.Second), state: v1alpha1.StateScheduled},
			{name: "late", deployment: "f/a", due: ago(time.Minute), state: v1alpha1.StateScheduled},
			{name: "now", deployment: "f/a", due: ago(time.Second)},
		},
		want: []string{
			"wait soon Scheduled: waiting for its scheduled time",
			"wait sooner Scheduled: waiting for its scheduled time (no write)",
			"admit late",
			"admit now",
		},
		wake:   planNow.Add(30 * time.Second),
		counts: map[v1alpha1.RunState]int{"": 2, v1alpha1.StateScheduled: 1, v1alpha1.StateLate: 1},
	}, {
		name: "rejections: bad request, unknown deployment; config that cannot be read makes runs wait",
		config: func(c *project.Installed) {
			c.Errors[v1alpha1.DeploymentConfigMapName("f", "broken")] = fmt.Errorf("bad yaml")
		},
		runs: []planRun{
			{name: "garbage", raw: "deployment: [", created: -3 * time.Second},
			{name: "typo", deployment: "f/aa", created: -2 * time.Second},
			{name: "broken", deployment: "f/broken", created: -1 * time.Second},
			{name: "bad-tag", deployment: "f/a", tags: []string{" "}},
			// The deployment label must name run.yaml's deployment.
			{name: "relabelled", deployment: "f/a", edit: labelled("f.b")},
			{name: "labelled", deployment: "f/a", edit: labelled("f.a")},
		},
		want: []string{
			"reject garbage InvalidRunRequest",
			"reject typo DeploymentNotFound",
			"wait broken WaitingForConfig: deployment config flows-deployment-f-broken cannot be read: bad yaml",
			"reject bad-tag InvalidRunRequest",
			"reject relabelled InvalidRunRequest",
			"admit labelled",
		},
	}, {
		name: "runs already in hand are only counted: Job being created, Job in the cache, write in flight, cancel requested, backed off",
		runs: []planRun{
			{name: "creating", deployment: "f/a", edit: func(w *WaitingRun) { w.Creating = true }},
			{name: "has-job", deployment: "f/a", edit: func(w *WaitingRun) { w.HasJob = true }},
			{name: "inflight", deployment: "f/a", edit: func(w *WaitingRun) { w.Inflight = true }},
			{name: "cancel", deployment: "f/a", edit: func(w *WaitingRun) { w.Cancel = true }},
			{name: "refused", deployment: "f/a", edit: func(w *WaitingRun) { w.RefusedUntil = planNow.Add(5 * time.Second) }},
			{name: "claimed-rejected", deployment: "f/a", edit: func(w *WaitingRun) { w.State = v1alpha1.StateRejected }},
			{name: "go", deployment: "f/a"},
		},
		want:   []string{"admit go"},
		wake:   planNow.Add(5 * time.Second),
		counts: map[v1alpha1.RunState]int{v1alpha1.StatePending: 2, "": 4, v1alpha1.StateRejected: 1},
	}, {
		name: "a Job name held by a live run's Job is rejected; by a dead run's, retried",
		runs: []planRun{
			{name: "taken", deployment: "f/a", edit: func(w *WaitingRun) { w.JobName, w.NameTakenBy = "flows-taken", "owner" }},
			{name: "taken-busy", deployment: "f/a", edit: func(w *WaitingRun) { w.JobName, w.NameTakenBy, w.Inflight = "flows-x", "owner", true }},
			{name: "going", deployment: "f/a", edit: func(w *WaitingRun) { w.JobName = "flows-going" }},
		},
		want:  []string{"reject taken JobNameTaken"},
		retry: true,
	}, {
		name:   "a retry waits for its delay, then for its turn like any run: by when it is due",
		config: func(c *project.Installed) { c.Pools["p"].ConcurrencyLimit = limit(1) },
		runs: []planRun{
			{name: "backing-off", deployment: "f/a", created: -time.Hour, state: v1alpha1.StateScheduled, edit: retry(2, 40*time.Second)},
			{name: "retry-due", deployment: "f/a", created: -time.Hour, state: v1alpha1.StateScheduled, edit: retry(2, -3*time.Second)},
			{name: "new", deployment: "f/a", created: -20 * time.Second},
		},
		want: []string{
			"wait backing-off Scheduled: waiting for its scheduled time (no write)",
			"admit new",
			"wait retry-due WaitingForSlot: waiting for a free slot of pool p (no write)",
		},
		wake:     planNow.Add(40 * time.Second),
		slotWait: true,
	}, {
		name: "a full CancelNew deployment cancels a new run; a retry waits",
		config: func(c *project.Installed) {
			c.Deployments["f/a"].ConcurrencyLimit = limit(1)
			c.Deployments["f/a"].CollisionStrategy = v1alpha1.CollisionCancelNew
		},
		held: held{{project.SlotDeployment, "f/a"}: 1},
		runs: []planRun{
			{name: "retry", deployment: "f/a", created: -time.Hour, state: v1alpha1.StateScheduled, edit: retry(2, -time.Second)},
			{name: "new", deployment: "f/a"},
		},
		want:     []string{"wait retry WaitingForSlot: waiting for a free slot of deployment f/a (no write)", "cancel new"},
		slotWait: true,
	}, {
		name:  "tag rate: a full bucket lets burst runs start, the next waits for its token",
		rates: map[string]rateCase{"api": {rate: "60/m", burst: 2}},
		runs: []planRun{
			{name: "r1", deployment: "f/a", tags: []string{"api"}, created: -3 * time.Second},
			{name: "r2", deployment: "f/a", tags: []string{"api"}, created: -2 * time.Second},
			{name: "r3", deployment: "f/a", tags: []string{"api"}, created: -1 * time.Second},
			{name: "other", deployment: "f/a"},
		},
		want: []string{"admit r1", "admit r2", "wait r3 WaitingForRate: waiting for the start rate of tag api (next start at 2026-12-02T12:00:01Z)", "admit other"},
		wake: planNow.Add(time.Second),
	}, {
		name:  "tag rate: recent starts, from Jobs, hold the bucket",
		rates: map[string]rateCase{"api": {rate: "60/m", burst: 2, starts: []time.Duration{-500 * time.Millisecond, -200 * time.Millisecond}}},
		runs:  []planRun{{name: "r1", deployment: "f/a", tags: []string{"api"}}},
		want:  []string{"wait r1 WaitingForRate: waiting for the start rate of tag api (next start at 2026-12-02T12:00:00Z)"},
		wake:  planNow.Add(500 * time.Millisecond),
	}, {
		name:   "tag rate: a run held by a concurrency limit takes no token",
		config: func(c *project.Installed) { c.TagLimits["api"] = 1 },
		held:   held{{project.SlotTag, "api"}: 1},
		rates:  map[string]rateCase{"api": {rate: "1/h", burst: 1}},
		runs: []planRun{
			{name: "held", deployment: "f/c", tags: []string{"api"}},
			{name: "next", deployment: "f/a", tags: []string{"web"}},
		},
		want:     []string{"wait held WaitingForSlot: waiting for a free slot of tag api", "admit next"},
		slotWait: true,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cache RunCache
			in := Input{Now: planNow, Namespace: "flows", Config: planConfig(tc.config), ConfigGen: 1, Creating: tc.creating,
				Held: func(kind, name string) int32 { return tc.held[[2]string{kind, name}] }, Rates: map[string]*project.StartBucket{}}
			for tag, rc := range tc.rates {
				r, err := v1alpha1.ParseRate(rc.rate)
				if err != nil {
					t.Fatal(err)
				}
				var starts []time.Time
				for _, d := range rc.starts {
					starts = append(starts, planNow.Add(d))
				}
				in.Rates[tag] = project.ReplayStarts(r, rc.burst, starts, planNow)
			}
			for _, r := range tc.runs {
				in.Waiting = append(in.Waiting, r.waiting(t, &cache))
			}
			AdmitWaiting(in)
			nextBefore := map[string]time.Time{}
			for tag, b := range in.Rates {
				nextBefore[tag] = b.Next()
			}
			out := Plan(in)
			for tag, b := range in.Rates {
				if !b.Next().Equal(nextBefore[tag]) {
					t.Errorf("plan took tokens from its input's bucket of tag %s", tag)
				}
			}
			var got []string
			for _, d := range out.Decisions {
				got = append(got, describeDecision(d))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decisions:\n got %q\nwant %q", got, tc.want)
			}
			if !out.Wake.Equal(tc.wake) {
				t.Errorf("wake at %v, want %v", out.Wake, tc.wake)
			}
			if out.WaitsForSlot != tc.slotWait {
				t.Errorf("waitsForSlot %v, want %v", out.WaitsForSlot, tc.slotWait)
			}
			if out.RetryForeign != tc.retry {
				t.Errorf("retryForeign %v, want %v", out.RetryForeign, tc.retry)
			}
			if tc.counts != nil {
				for k, v := range out.Counts {
					if v == 0 {
						delete(out.Counts, k)
					}
				}
				if !reflect.DeepEqual(out.Counts, tc.counts) {
					t.Errorf("counts %v, want %v", out.Counts, tc.counts)
				}
			}
		})
	}
}

// A verdict is reached outside plan and cached per config generation: a
// pass under the same config reuses it, a new config redoes it, and a wait
// for config is looked at again on every pass.
func TestAdmitWaitingCachesPerConfig(t *testing.T) {
	var cache RunCache
	w := planRun{name: "r", deployment: "f/a"}.waiting(t, &cache)
	in := Input{Now: planNow, Namespace: "flows", Config: planConfig(nil), ConfigGen: 7, Waiting: []WaitingRun{w}}
	AdmitWaiting(in)
	first := w.Parsed.admission
	if first == nil || w.Parsed.cfgGen != 7 {
		t.Fatalf("admission %v at generation %d, want one at 7", first, w.Parsed.cfgGen)
	}
	AdmitWaiting(in)
	if w.Parsed.admission != first {
		t.Error("the same config generation admitted the run again")
	}
	decide := func() string { AdmitWaiting(in); return describeDecision(Plan(in).Decisions[0]) }
	in.Config = planConfig(func(c *project.Installed) { delete(c.Deployments, "f/a") })
	in.ConfigGen = 8
	if got := decide(); got != "reject r DeploymentNotFound" {
		t.Errorf("after the deployment went: %s", got)
	}
	in.Config = planConfig(func(c *project.Installed) { delete(c.Pools, "p") })
	in.ConfigGen = 9
	if got := decide(); got != `wait r WaitingForConfig: pool "p" of deployment f/a is not installed yet` {
		t.Errorf("without its pool: %s", got)
	}
	if w.Parsed.cfgGen != 0 {
		t.Errorf("a wait for config is cached (generation %d)", w.Parsed.cfgGen)
	}
	// A run plan will not judge (a write of it under way) gets no verdict.
	busy := planRun{name: "busy", deployment: "f/a", edit: func(w *WaitingRun) { w.Inflight = true }}.waiting(t, &cache)
	AdmitWaiting(Input{Now: planNow, Namespace: "flows", Config: planConfig(nil), ConfigGen: 10, Waiting: []WaitingRun{busy}})
	if busy.Parsed.admission != nil || busy.Parsed.admitErr != nil || busy.Parsed.admitWait != nil {
		t.Error("a run in flight was judged")
	}
}

// A run with values of its own keeps them checked across config
// generations while its pool's and deployment's data revisions are the
// same (a pause or a resume changes the generation, not the data), and
// has them checked again when either changes or is not tracked.
func TestOwnValuesKeptAcrossDataRevisions(t *testing.T) {
	var cache RunCache
	w := planRun{name: "r", deployment: "f/a", raw: "deployment: f/a\nparameters: {n: 1}\n"}.waiting(t, &cache)
	revised := func(pool, deployment uint64, paused bool) *project.Installed {
		return planConfig(func(c *project.Installed) {
			c.Pools["p"].Revision, c.Deployments["f/a"].Revision = pool, deployment
			c.Pools["p"].PausedByAnnotation = paused
		})
	}
	in := Input{Now: planNow, Namespace: "flows", Config: revised(1, 2, false), ConfigGen: 1, Waiting: []WaitingRun{w}}
	// Whether the values are checked again shows by the run's request,
	// swapped behind the cache for one whose job variables fail: the
	// check that reads it rejects the run.
	good := w.ConfigMap.Data[v1alpha1.KeyRun]
	checkedAgain := func(cfg *project.Installed, gen uint64) bool {
		t.Helper()
		w.ConfigMap.Data[v1alpha1.KeyRun] = "deployment: f/a\njobVariables: {no_such_variable: 1}\n"
		defer func() { w.ConfigMap.Data[v1alpha1.KeyRun] = good }()
		in.Config, in.ConfigGen = cfg, gen
		AdmitWaiting(in)
		if w.Parsed.admission == nil && w.Parsed.admitErr == nil {
			t.Fatalf("generation %d: no verdict (waits: %v)", gen, w.Parsed.admitWait)
		}
		return w.Parsed.admitErr != nil
	}
	AdmitWaiting(in)
	if w.Parsed.admission == nil {
		t.Fatalf("not admitted (%v, %v)", w.Parsed.admitErr, w.Parsed.admitWait)
	}
	if checkedAgain(revised(1, 2, true), 2) {
		t.Error("the pool's pause had the run's values checked again")
	}
	paused := w.Parsed.admission
	if paused.Pool != in.Config.Pools["p"] || !paused.Pool.PausedByAnnotation {
		t.Error("the admission under the new generation does not point at its pool: plan would miss the pause")
	}
	if got := describeDecision(Plan(in).Decisions[0]); !strings.HasPrefix(got, "wait r Paused") {
		t.Errorf("under the paused pool: %s", got)
	}
	for _, c := range []struct {
		name             string
		pool, deployment uint64
	}{{"a new pool revision", 3, 2}, {"a new deployment revision", 3, 4}, {"untracked revisions", 0, 0}} {
		if !checkedAgain(revised(c.pool, c.deployment, false), in.ConfigGen+1) {
			t.Errorf("%s: the run's values were not checked again", c.name)
		}
	}
}

// A waiting run with values of its own keeps only its verdict: its
// decoded request does not keep them, runs of one deployment with values
// of their own and scheduled for the same time share their admission, and
// the values are decoded and checked again, the same, when the run's Job
// is made. Runs without share their deployment's checked defaults.
func TestOwnValuesCheckedAgainForTheJob(t *testing.T) {
	var cache RunCache
	own := planRun{name: "own", deployment: "f/a", raw: "deployment: f/a\nparameters: {count: 7}\n"}.waiting(t, &cache)
	other := planRun{name: "other", deployment: "f/a", raw: "deployment: f/a\njobVariables: {cpu_limit: 500m}\n"}.waiting(t, &cache)
	plain := planRun{name: "plain", deployment: "f/a"}.waiting(t, &cache)
	AdmitWaiting(Input{Now: planNow, Namespace: "flows", Config: planConfig(nil), ConfigGen: 1, Waiting: []WaitingRun{own, other, plain}})
	a, o, p := own.Parsed.admission, other.Parsed.admission, plain.Parsed.admission
	for _, w := range []WaitingRun{own, other, plain} {
		if w.Parsed.admission == nil {
			t.Fatalf("%s: not admitted (%v, %v)", w.ConfigMap.Name, w.Parsed.admitErr, w.Parsed.admitWait)
		}
	}
	if req := own.Parsed.Request; req.Parameters != nil || req.Deployment != "f/a" || req != other.Parsed.Request {
		t.Errorf("kept request %+v (shared with the other run's: %v); want deployment f/a alone, shared", req, req == other.Parsed.Request)
	}
	if a.run != nil || a != o || a == p {
		t.Errorf("the runs with values of their own keep checked values %v, share their admission %v, share the plain run's %v; want none, yes, no", a.run != nil, a == o, a == p)
	}
	for _, c := range []struct {
		w     WaitingRun
		check func(*project.CheckedRun) bool
	}{
		{own, func(r *project.CheckedRun) bool { return r.Parameters["count"] == int64(7) }},
		{other, func(r *project.CheckedRun) bool { return r.JobVariables["cpu_limit"] == "500m" }},
	} {
		run, err := a.CheckedRun("flows", c.w.ConfigMap)
		if err != nil || !c.check(run) {
			t.Fatalf("%s checked again: %+v, %v; want its own values", c.w.ConfigMap.Name, run, err)
		}
		job, err := ResolveJob("flows", c.w.ConfigMap, run, 1)
		if err != nil || job.Name != c.w.ConfigMap.Name {
			t.Fatalf("its Job: %v, %v", job, err)
		}
	}
	if shared, err := p.CheckedRun("flows", plain.ConfigMap); err != nil || shared != p.run || shared == nil {
		t.Errorf("a run without values of its own: %p, %v; want its shared checked defaults %p", shared, err, p.run)
	}
}

// Runs submitted alike share what they keep while they wait: the decoded
// request of an equal request, and the admission of runs without values
// or tags of their own scheduled for the same time. Any difference gets
// its own.
func TestWaitingRunsShareEqualVerdicts(t *testing.T) {
	var cache RunCache
	second := time.Second
	runs := []WaitingRun{
		planRun{name: "a1", deployment: "f/a"}.waiting(t, &cache),
		planRun{name: "a2", deployment: "f/a"}.waiting(t, &cache),
		planRun{name: "later", deployment: "f/a", created: second}.waiting(t, &cache),
		planRun{name: "due", deployment: "f/a", due: &second}.waiting(t, &cache),
		planRun{name: "tagged", deployment: "f/a", tags: []string{"x"}}.waiting(t, &cache),
		planRun{name: "params", deployment: "f/a", raw: "deployment: f/a\nparameters: {n: 1}\n"}.waiting(t, &cache),
		planRun{name: "other", deployment: "f/b"}.waiting(t, &cache),
	}
	AdmitWaiting(Input{Now: planNow, Namespace: "flows", Config: planConfig(nil), ConfigGen: 1, Waiting: runs})
	byName := map[string]*ParsedRun{}
	for _, w := range runs {
		if w.Parsed.admission == nil {
			t.Fatalf("%s: not admitted (%v, %v)", w.ConfigMap.Name, w.Parsed.admitErr, w.Parsed.admitWait)
		}
		byName[w.ConfigMap.Name] = w.Parsed
	}
	if a1, a2 := byName["a1"], byName["a2"]; a1.Request != a2.Request || a1.admission != a2.admission {
		t.Errorf("equal runs created in the same second share request %v and admission %v, want both", a1.Request == a2.Request, a1.admission == a2.admission)
	}
	if byName["later"].Request != byName["a1"].Request {
		t.Error("equal requests decoded twice")
	}
	for _, name := range []string{"later", "due", "tagged", "params", "other"} {
		if byName[name].admission == byName["a1"].admission {
			t.Errorf("%s shares a1's admission", name)
		}
	}
	if got := byName["later"].admission.Scheduled; !got.Equal(planNow.Add(second)) {
		t.Errorf("later: scheduled %v, want its own creation", got)
	}
	if got := byName["tagged"].admission.Slots.Tags; !reflect.DeepEqual(got, []string{"x"}) {
		t.Errorf("tagged: slots of tags %v, want its own", got)
	}
}

// The table that shares decoded requests keeps a request with values of
// its own without them, as the run does: whole, a thousand entries would
// keep a thousand runs' parameters decoded.
func TestSharedRequestsKeepNoOwnValues(t *testing.T) {
	var cache RunCache
	raw := "deployment: f/a\nparameters: {n: 1}\n"
	a := planRun{name: "a", deployment: "f/a", raw: raw}.waiting(t, &cache)
	b := planRun{name: "b", deployment: "f/a", raw: raw}.waiting(t, &cache)
	d := cache.requests.Get(raw, func() decodedRequest { t.Fatal("the request was not kept"); return decodedRequest{} })
	if !d.dropped || d.req.Parameters != nil || d.req.Deployment != "f/a" {
		t.Errorf("kept %+v (dropped %v), want the request without its parameters", d.req, d.dropped)
	}
	if a.Parsed.Request != d.req || b.Parsed.Request != d.req || !a.Parsed.values.lacking() {
		t.Errorf("runs a and b: requests %p and %p, lacking values %v; want the kept %p, lacking", a.Parsed.Request, b.Parsed.Request, a.Parsed.values.lacking(), d.req)
	}
}

// Plan changes nothing it is given: deciding the same input twice gives
// the same decisions and leaves every run's cached verdict as it was.
func TestPlanIsPure(t *testing.T) {
	var cache RunCache
	in := Input{Now: planNow, Namespace: "flows", Config: planConfig(func(c *project.Installed) { one := int32(1); c.Pools["p"].ConcurrencyLimit = &one }), ConfigGen: 3}
	for _, r := range []planRun{{name: "a", deployment: "f/a"}, {name: "b", deployment: "f/b", created: time.Second}, {name: "x", deployment: "f/x"}} {
		in.Waiting = append(in.Waiting, r.waiting(t, &cache))
	}
	AdmitWaiting(in)
	before := make([]ParsedRun, len(in.Waiting))
	for i, w := range in.Waiting {
		before[i] = *w.Parsed
	}
	first, second := Plan(in), Plan(in)
	for i, w := range in.Waiting {
		if !reflect.DeepEqual(*w.Parsed, before[i]) {
			t.Errorf("plan changed the verdict of %s", w.ConfigMap.Name)
		}
	}
	describe := func(p Planned) (out []string) {
		for _, d := range p.Decisions {
			out = append(out, describeDecision(d))
		}
		return out
	}
	if a, b := describe(first), describe(second); !reflect.DeepEqual(a, b) || len(a) != 3 {
		t.Errorf("decisions differ or are missing:\n%q\n%q", a, b)
	}
}

// TestVerdictDecision: what a judged run's verdict alone decides, before
// any slot is looked at.
func TestVerdictDecision(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	admitted := &Admission{Scheduled: now.Add(-time.Minute)}
	later := &Admission{Scheduled: now.Add(time.Minute)}
	noParent := &v1alpha1.RunRequest{Deployment: "f/a", Parent: &v1alpha1.RunRef{Run: "gone", RunUID: "u"}}
	for _, tc := range []struct {
		name    string
		w       WaitingRun
		settled bool
		want    string // describeDecision of the decision
	}{
		{"waits for config", WaitingRun{Parsed: &ParsedRun{admitWait: &WaitReason{"pool p is not installed yet"}}},
			true, "wait r WaitingForConfig"},
		{"rejected by its verdict", WaitingRun{Parsed: &ParsedRun{admitErr: &Rejection{ReasonPoolNotFound, "no pool"}}},
			true, "reject r PoolNotFound"},
		{"rejected by its parent", WaitingRun{Parsed: &ParsedRun{Request: noParent, admission: admitted}, Attempt: 1},
			true, "reject r InvalidParent"},
		{"a retry keeps its parent's acceptance", WaitingRun{Parsed: &ParsedRun{Request: noParent, admission: admitted}, Attempt: 2},
			false, ""},
		{"not yet due", WaitingRun{Parsed: &ParsedRun{Request: &v1alpha1.RunRequest{}, admission: later}, Attempt: 1},
			true, "wait r Scheduled"},
		{"its retry not yet due", WaitingRun{Parsed: &ParsedRun{Request: &v1alpha1.RunRequest{}, admission: admitted}, Attempt: 2, RetryAt: now.Add(time.Second)},
			true, "wait r Scheduled"},
		{"due", WaitingRun{Parsed: &ParsedRun{Request: &v1alpha1.RunRequest{}, admission: admitted}, Attempt: 1},
			false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w
			w.ConfigMap = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
			d, settled := verdictDecision(now, &w)
			if settled != tc.settled {
				t.Fatalf("settled %v, want %v", settled, tc.settled)
			}
			if !settled {
				return
			}
			if got := describeDecision(d); !strings.HasPrefix(got, tc.want) {
				t.Errorf("decided %q, want %q", got, tc.want)
			}
		})
	}
}
