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
// derives it afresh from the runs' durable states and their Jobs, so a
// crash, a deleted run or a deleted Job can never leak a slot.
type usage struct {
	pool, queue, deployment, tag map[string]int32
}

func newUsage() *usage {
	return &usage{pool: map[string]int32{}, queue: map[string]int32{}, deployment: map[string]int32{}, tag: map[string]int32{}}
}

func (u *usage) add(s slots) {
	u.pool[s.Pool]++
	u.queue[s.Queue]++
	u.deployment[s.Deployment]++
	for _, t := range s.Tags {
		u.tag[t]++
	}
}

// blocked names the first limit that has no free slot for s, or "".
// The deployment limit is reported apart, for CancelNew.
func (u *usage) blocked(cfg *Config, pool *Pool, d *Deployment, s slots) (limit string, deploymentFull bool) {
	if d.ConcurrencyLimit != nil && u.deployment[s.Deployment] >= *d.ConcurrencyLimit {
		return "deployment " + s.Deployment, true
	}
	if pool.ConcurrencyLimit != nil && u.pool[s.Pool] >= *pool.ConcurrencyLimit {
		return "pool " + s.Pool, false
	}
	if q := pool.Queue(d.Queue); q != nil && q.ConcurrencyLimit != nil && u.queue[s.Queue] >= *q.ConcurrencyLimit {
		return "queue " + s.Queue, false
	}
	for _, t := range s.Tags {
		if l, ok := cfg.TagLimits[t]; ok && u.tag[t] >= l {
			return "tag " + t, false
		}
	}
	return "", false
}

// runTags is the deployment's tags plus the run's, without repeats, in a
// stable order.
func runTags(d *project.Deployment, extra []string) []string {
	seen := map[string]bool{}
	var tags []string
	for _, list := range [][]string{d.Tags, extra} {
		for _, t := range list {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
	}
	return tags
}
