package planner

import (
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Slots are what a run holds while its Job is unfinished: one slot of its
// pool, its queue, its deployment and each of its tags.
type Slots struct {
	Pool       string
	Queue      string // pool/queue
	Deployment string // flow/name
	Tags       []string
}

func SlotsOf(pool, queue, deployment string, tags []string) Slots {
	return Slots{Pool: pool, Queue: pool + "/" + queue, Deployment: deployment, Tags: tags}
}

// Usage counts slots in use. It is never stored: every dispatch pass
// derives it afresh from unfinished Jobs and the claims in flight, so a
// crash, a deleted run or a deleted Job can never leak a slot. The Jobs
// are counted through the Job cache's slot indexes (held returns how many
// unfinished Jobs hold a slot), for only the limits the pass looks at: a
// pass costs the same with ten Jobs running or ten thousand.
type Usage struct {
	held                         func(kind, name string) int32
	pool, queue, deployment, tag map[string]int32
}

func NewUsage(held func(kind, name string) int32) *Usage {
	if held == nil {
		held = func(string, string) int32 { return 0 }
	}
	return &Usage{held: held, pool: map[string]int32{}, queue: map[string]int32{}, deployment: map[string]int32{}, tag: map[string]int32{}}
}

// Get is the slots of one limit in use: held by Jobs, read once per pass,
// plus those added since.
func (u *Usage) Get(kind, name string) int32 {
	m := u.kind(kind)
	n, ok := m[name]
	if !ok {
		n = u.held(kind, name)
		m[name] = n
	}
	return n
}

func (u *Usage) kind(kind string) map[string]int32 {
	switch kind {
	case project.SlotPool:
		return u.pool
	case project.SlotQueue:
		return u.queue
	case project.SlotDeployment:
		return u.deployment
	}
	return u.tag
}

func (u *Usage) Add(s Slots) {
	u.pool[s.Pool] = u.Get(project.SlotPool, s.Pool) + 1
	u.queue[s.Queue] = u.Get(project.SlotQueue, s.Queue) + 1
	u.deployment[s.Deployment] = u.Get(project.SlotDeployment, s.Deployment) + 1
	for _, t := range s.Tags {
		u.tag[t] = u.Get(project.SlotTag, t) + 1
	}
}

// Blocked names the first limit that has no free slot for s, or "".
// The deployment limit is reported apart, for CancelNew.
func (u *Usage) Blocked(cfg *project.Installed, pool *project.InstalledPool, d *project.InstalledDeployment, s Slots) (limit string, deploymentFull bool) {
	return project.BlockingLimit(&pool.Pool, &d.Deployment, s.Tags, cfg.TagLimits, u.Get)
}
