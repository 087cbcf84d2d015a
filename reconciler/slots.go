package reconciler

import (
	"github.com/kubectl-flows/kubectl-flows/project"
)

// slots are what a run holds while its Job is unfinished: one slot of its
// pool, its queue, its deployment and each of its tags.
type slots struct {
	Pool       string
	Queue      string // pool/queue
	Deployment string // flow/name
	Tags       []string
}

func slotsOf(pool, queue, deployment string, tags []string) slots {
	return slots{Pool: pool, Queue: pool + "/" + queue, Deployment: deployment, Tags: tags}
}

// usage counts slots in use. It is never stored: every dispatch pass
// derives it afresh from unfinished Jobs and the claims in flight, so a
// crash, a deleted run or a deleted Job can never leak a slot. The Jobs
// are counted through the Job cache's slot indexes (held returns how many
// unfinished Jobs hold a slot), for only the limits the pass looks at: a
// pass costs the same with ten Jobs running or ten thousand.
type usage struct {
	held                         func(kind, name string) int32
	pool, queue, deployment, tag map[string]int32
}

// Slot kinds, also the names of the Job cache's slot indexes.
const (
	slotPool       = project.SlotPool
	slotQueue      = project.SlotQueue
	slotDeployment = project.SlotDeployment
	slotTag        = project.SlotTag
)

func newUsage(held func(kind, name string) int32) *usage {
	if held == nil {
		held = func(string, string) int32 { return 0 }
	}
	return &usage{held: held, pool: map[string]int32{}, queue: map[string]int32{}, deployment: map[string]int32{}, tag: map[string]int32{}}
}

// get is the slots of one limit in use: held by Jobs, read once per pass,
// plus those added since.
func (u *usage) get(kind, name string) int32 {
	m := u.kind(kind)
	n, ok := m[name]
	if !ok {
		n = u.held(kind, name)
		m[name] = n
	}
	return n
}

func (u *usage) kind(kind string) map[string]int32 {
	switch kind {
	case slotPool:
		return u.pool
	case slotQueue:
		return u.queue
	case slotDeployment:
		return u.deployment
	}
	return u.tag
}

func (u *usage) add(s slots) {
	u.pool[s.Pool] = u.get(slotPool, s.Pool) + 1
	u.queue[s.Queue] = u.get(slotQueue, s.Queue) + 1
	u.deployment[s.Deployment] = u.get(slotDeployment, s.Deployment) + 1
	for _, t := range s.Tags {
		u.tag[t] = u.get(slotTag, t) + 1
	}
}

// blocked names the first limit that has no free slot for s, or "".
// The deployment limit is reported apart, for CancelNew.
func (u *usage) blocked(cfg *project.Installed, pool *project.InstalledPool, d *project.InstalledDeployment, s slots) (limit string, deploymentFull bool) {
	return project.BlockingLimit(&pool.Pool, &d.Deployment, s.Tags, cfg.TagLimits, u.get)
}
