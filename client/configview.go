package client

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// DeploymentView is a deployment as get, describe and the dashboard show
// it.
type DeploymentView struct {
	Name        string // flow/name
	Pool, Queue string
	Tags        []string
	Paused      PauseState
	// Limit is the deployment's concurrency limit, nil for none.
	Limit          *int32
	InUse, Waiting int32
	LastRun        *RunView // the newest run, nil for none
	Schedules      []ScheduleView
	// NextRun is the earliest next fire time of its active schedules, zero
	// for none.
	NextRun time.Time
	// RunOverrides are the job variables a run may set.
	RunOverrides []string
	// Retries is the retry policy its runs get (its own, else its
	// pool's), nil for none; Timeout is how long a run may run from its
	// pod's start, 0 for no limit.
	Retries *v1alpha1.RetryPolicy
	Timeout time.Duration
	Config  *project.InstalledDeployment
}

// ScheduleView is one schedule of a deployment.
type ScheduleView struct {
	Text   string // when it fires: "every 1h0m0s", "0 9 * * * (Europe/London)"
	Active bool
	// CatchUp is its catch-up policy: "Latest", "None", "All (max 5)".
	CatchUp string
	// Parameters are the parameters of the runs it fires, as JSON, when
	// it sets its own; "" when they take the deployment's.
	Parameters string
	Next       []time.Time // the next three fire times of an active schedule
}

// Summary is the schedule in a few words, with what sets it apart from a
// plain one in brackets: "0 18 * * 5 [inactive, catchup All, own
// parameters]".
func (v *ScheduleView) Summary() string {
	var notes []string
	if !v.Active {
		notes = append(notes, "inactive")
	}
	if v.CatchUp != v1alpha1.CatchUpLatest {
		policy, _, _ := strings.Cut(v.CatchUp, " ")
		notes = append(notes, "catchup "+policy)
	}
	if v.Parameters != "" {
		notes = append(notes, "own parameters")
	}
	if len(notes) == 0 {
		return v.Text
	}
	return v.Text + " [" + strings.Join(notes, ", ") + "]"
}

// ViewDeployments are the views of every installed deployment, by name.
func (s *Snapshot) ViewDeployments() []DeploymentView {
	last := map[string]*RunInfo{}
	for _, r := range s.Runs { // oldest first
		last[r.Deployment()] = r
	}
	var out []DeploymentView
	for _, name := range s.Installed.DeploymentNames() {
		d := s.Installed.Deployments[name]
		v := DeploymentView{
			Name: name, Pool: d.Pool, Queue: d.Queue, Tags: d.Tags, Paused: DeploymentPause(s.Installed, d),
			Limit: d.ConcurrencyLimit, InUse: s.Usage.Deployment[name], Waiting: s.Usage.WaitingDeployment[name], Config: d,
		}
		if r := last[name]; r != nil {
			rv := s.ViewRun(r)
			v.LastRun = &rv
		}
		for j := range d.Schedules {
			sv := viewSchedule(&d.Deployment, j, s.Now)
			if len(sv.Next) > 0 && (v.NextRun.IsZero() || sv.Next[0].Before(v.NextRun)) {
				v.NextRun = sv.Next[0]
			}
			v.Schedules = append(v.Schedules, sv)
		}
		var pool *v1alpha1.Pool
		if p := s.Installed.Pools[d.Pool]; p != nil {
			pool = &p.Pool
			v.Timeout = project.EffectiveTimeout(pool, &d.Deployment, nil)
		}
		v.RunOverrides = project.RunOverrides(pool, &d.Deployment)
		v.Retries = project.EffectiveRetries(pool, &d.Deployment)
		out = append(out, v)
	}
	return out
}

// ViewDeployment is the view of one installed deployment (flow/name).
func (s *Snapshot) ViewDeployment(name string) (DeploymentView, bool) {
	return find(s.ViewDeployments(), func(v DeploymentView) bool { return v.Name == name })
}

// ViewPool is the view of one installed pool.
func (s *Snapshot) ViewPool(name string) (PoolView, bool) {
	return find(s.ViewPools(), func(v PoolView) bool { return v.Name == name })
}

// ViewQueue is the view of one queue (pool/queue).
func (s *Snapshot) ViewQueue(name string) (QueueView, bool) {
	return find(s.ViewQueues(), func(v QueueView) bool { return v.Name == name })
}

// ViewTagLimit is the view of one tag's limit.
func (s *Snapshot) ViewTagLimit(tag string) (TagLimitView, bool) {
	return find(s.ViewTagLimits(), func(v TagLimitView) bool { return v.Tag == tag })
}

func find[T any](views []T, is func(T) bool) (T, bool) {
	for _, v := range views {
		if is(v) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// viewSchedule is the view of a deployment's schedule j: when it fires,
// its catch-up policy and own parameters, and its next fire times.
func viewSchedule(d *v1alpha1.Deployment, j int, now time.Time) ScheduleView {
	sc := d.Schedules[j]
	v := ScheduleView{Text: sc.Cron, Active: sc.IsActive(), CatchUp: sc.CatchUpPolicy()}
	if sc.Interval != nil {
		v.Text = "every " + sc.Interval.Duration.String()
	}
	if sc.Timezone != "" {
		v.Text += " (" + sc.Timezone + ")"
	}
	if v.CatchUp == v1alpha1.CatchUpAll {
		v.CatchUp = fmt.Sprintf("All (max %d)", sc.MaxCatchupOrDefault())
	}
	if len(sc.Parameters) > 0 {
		b, _ := json.Marshal(project.ScheduleParameters(d, j))
		v.Parameters = string(b)
	}
	if v.Active {
		v.Next, _ = project.NextFires(sc, now, 3)
	}
	return v
}

// PoolView is a work pool as get, describe and the dashboard show it.
type PoolView struct {
	Name           string
	Paused         PauseState
	Limit          *int32
	InUse, Waiting int32
	Queues         []QueueView
	PausedQueues   []string
	Deployments    []string
	RunOverrides   []string
	Config         *project.InstalledPool
}

// QueueView is a work queue.
type QueueView struct {
	Name           string // pool/queue
	Pool, Queue    string
	Priority       int32
	Paused         PauseState
	Limit          *int32
	InUse, Waiting int32
	Config         *v1alpha1.Queue
	PoolConfig     *project.InstalledPool
}

// ViewPools are the views of every installed pool, by name.
func (s *Snapshot) ViewPools() []PoolView {
	var out []PoolView
	for _, name := range s.Installed.PoolNames() {
		p := s.Installed.Pools[name]
		v := PoolView{
			Name: name, Paused: PoolPause(p), Limit: p.ConcurrencyLimit,
			InUse: s.Usage.Pool[name], Waiting: s.Usage.WaitingPool[name],
			Deployments: s.deploymentsIn(name), RunOverrides: project.RunOverrides(&p.Pool, nil), Config: p,
		}
		for _, q := range s.ViewQueues() {
			if q.Pool == name {
				v.Queues = append(v.Queues, q)
				if p.QueuePaused(q.Queue) {
					v.PausedQueues = append(v.PausedQueues, q.Queue)
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// ViewQueues are the views of every queue, by pool/queue.
func (s *Snapshot) ViewQueues() []QueueView {
	var out []QueueView
	for _, name := range s.Installed.QueueNames() {
		poolName, qName, _ := strings.Cut(name, "/")
		p := s.Installed.Pools[poolName]
		q := p.Queue(qName)
		out = append(out, QueueView{
			Name: name, Pool: poolName, Queue: qName, Priority: q.Priority, Paused: QueuePause(p, q), Limit: q.ConcurrencyLimit,
			InUse: s.Usage.Queue[name], Waiting: s.Usage.WaitingQueue[name], Config: q, PoolConfig: p,
		})
	}
	return out
}

// deploymentsIn names the deployments of a pool.
func (s *Snapshot) deploymentsIn(pool string) []string {
	var names []string
	for _, n := range s.Installed.DeploymentNames() {
		if s.Installed.Deployments[n].Pool == pool {
			names = append(names, n)
		}
	}
	return names
}

// TagLimitView is a tag's concurrency limit.
type TagLimitView struct {
	Tag            string
	Limit          int32
	InUse, Waiting int32
	// Rate is its start rate, nil for none.
	Rate *StartRate
	// Deployments are those carrying the tag.
	Deployments []string
}

// StartRate is a tag's start rate, with when it lets the next run start.
type StartRate struct {
	Rate  string // as limits.yaml gives it: "10/m"
	Burst int32  // how many may start at once
	// Next is when the next run carrying the tag may start, replayed from
	// the runs' starts (Usage.Starts) as the reconciler replays them from
	// its Jobs; NextText says it for people: "now", "in 4s".
	Next     time.Time
	NextText string
}

// Text is the rate and its burst: "10/m, burst 3".
func (r *StartRate) Text() string { return fmt.Sprintf("%s, burst %d", r.Rate, r.Burst) }

// viewRate is a tag's start rate, nil for a tag without one.
func (s *Snapshot) viewRate(tag string) *StartRate {
	l, ok := s.Installed.TagRates[tag]
	if !ok {
		return nil
	}
	b := project.ReplayRate(&l, s.Usage.Starts[tag], s.Now)
	if b == nil {
		return nil
	}
	r := &StartRate{Rate: l.Rate, Burst: l.BurstOf(), Next: b.Next(), NextText: "now"}
	if r.Next.After(s.Now) {
		r.NextText = "in " + duration.HumanDuration(r.Next.Sub(s.Now))
	}
	return r
}

// ViewTagLimits are the views of every tag limit, by tag.
func (s *Snapshot) ViewTagLimits() []TagLimitView {
	var out []TagLimitView
	for _, tag := range TagNames(s.Installed) {
		v := TagLimitView{Tag: tag, Limit: s.Installed.TagLimits[tag], InUse: s.Usage.Tag[tag], Waiting: s.Usage.WaitingTag[tag], Rate: s.viewRate(tag)}
		for _, n := range s.Installed.DeploymentNames() {
			for _, t := range s.Installed.Deployments[n].Tags {
				if t == tag {
					v.Deployments = append(v.Deployments, n)
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// LimitView is one concurrency limit of any kind, as `get limits` and the
// dashboard's limits page list them: a pool, queue, deployment (with a
// limit) or tag.
type LimitView struct {
	Kind           string // pool, queue, deployment, tag
	Name           string
	Limit          *int32 // nil: unlimited
	InUse, Waiting int32
	Paused         PauseState // never paused for a tag
	// Rate is a tag's start rate, nil for none (and for other kinds).
	Rate *StartRate
	// Holders are the runs holding its slots, oldest first.
	Holders []Holder
}

// ID is "KIND NAME", as a waiting run names the limit it waits on.
func (l *LimitView) ID() string { return l.Kind + " " + l.Name }

// ViewLimits are every pool, queue, deployment with a limit, and tag
// limit, in that order.
func (s *Snapshot) ViewLimits() []LimitView {
	var out []LimitView
	for _, p := range s.ViewPools() {
		out = append(out, LimitView{Kind: project.SlotPool, Name: p.Name, Limit: p.Limit, InUse: p.InUse, Waiting: p.Waiting, Paused: p.Paused})
	}
	for _, q := range s.ViewQueues() {
		out = append(out, LimitView{Kind: project.SlotQueue, Name: q.Name, Limit: q.Limit, InUse: q.InUse, Waiting: q.Waiting, Paused: q.Paused})
	}
	for _, d := range s.ViewDeployments() {
		if d.Limit != nil {
			out = append(out, LimitView{Kind: project.SlotDeployment, Name: d.Name, Limit: d.Limit, InUse: d.InUse, Waiting: d.Waiting, Paused: d.Paused})
		}
	}
	for _, t := range s.ViewTagLimits() {
		limit := t.Limit
		out = append(out, LimitView{Kind: project.SlotTag, Name: t.Tag, Limit: &limit, InUse: t.InUse, Waiting: t.Waiting, Rate: t.Rate})
	}
	for i := range out {
		out[i].Holders = s.Holders(out[i].Kind, out[i].Name)
	}
	return out
}

// Holder is a run holding a slot of a limit.
type Holder struct {
	Run string
	// Since is when it took its slots (Pending), else when it started.
	Since time.Time
	// Age is how long it has held them.
	Age string
}

// Holders are the runs holding a slot of a limit (kind as
// project.BlockingLimit names them: pool, queue, deployment, tag; name
// as Usage keys them), oldest first: the slots counted in use.
func (s *Snapshot) Holders(kind, name string) []Holder {
	var out []Holder
	for _, r := range s.Runs {
		st := r.Status
		if !r.State().HoldsSlot() {
			continue
		}
		holds := false
		switch kind {
		case project.SlotPool:
			holds = st.Pool == name
		case project.SlotQueue:
			holds = st.Pool+"/"+st.Queue == name
		case project.SlotDeployment:
			holds = r.Deployment() == name
		case project.SlotTag:
			holds = slices.Contains(st.Tags, name)
		}
		if !holds {
			continue
		}
		h := Holder{Run: r.ConfigMap.Name, Since: r.ConfigMap.CreationTimestamp.Time}
		if st.PendingTime != nil {
			h.Since = st.PendingTime.Time
		} else if st.StartTime != nil {
			h.Since = st.StartTime.Time
		}
		h.Age = Age(s.Now, h.Since)
		out = append(out, h)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// InLine are the runs waiting for a free slot of a limit ("tag db"), in
// the order they will get one.
func (s *Snapshot) InLine(limit string) []RunView {
	var out []RunView
	for _, r := range s.Runs {
		if w, ok := s.Waits[r.ConfigMap.Name]; ok && w.Position > 0 && w.On == limit {
			out = append(out, s.ViewRun(r))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Position < out[j].Position })
	return out
}
