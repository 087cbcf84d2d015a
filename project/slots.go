package project

import (
	"time"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// LateAfter is how long past its scheduled time a waiting run is shown
// Late (as the reconciler does; it is never stored).
const LateAfter = 15 * time.Second

// Slot kinds: the limits a run takes one slot of while it runs, named as
// the reconciler's Job cache indexes them.
const (
	SlotPool       = "pool"
	SlotQueue      = "queue"
	SlotDeployment = "deployment"
	SlotTag        = "tag"
)

// BlockingLimit names the first of a run's limits with no free slot, as
// "KIND NAME" (e.g. "tag db"), or "" when every one has room. It checks
// them in the reconciler's order: deployment, pool, queue, tags; the
// reconciler decides admission with it and clients use it to say why a run
// waits. inUse(kind, name) is the slots in use, keyed pool; pool/queue;
// flow/name; tag; it is called only for limits that are set. deploymentFull says the deployment's own limit is the one (for
// collisionStrategy CancelNew).
func BlockingLimit(pool *v1alpha1.Pool, d *v1alpha1.Deployment, tags []string, tagLimits map[string]int32, inUse func(kind, name string) int32) (limit string, deploymentFull bool) {
	dep, queue := d.FullName(), pool.Name+"/"+d.Queue
	if d.ConcurrencyLimit != nil && inUse(SlotDeployment, dep) >= *d.ConcurrencyLimit {
		return "deployment " + dep, true
	}
	if pool.ConcurrencyLimit != nil && inUse(SlotPool, pool.Name) >= *pool.ConcurrencyLimit {
		return "pool " + pool.Name, false
	}
	if q := pool.Queue(d.Queue); q != nil && q.ConcurrencyLimit != nil && inUse(SlotQueue, queue) >= *q.ConcurrencyLimit {
		return "queue " + queue, false
	}
	for _, t := range tags {
		if l, ok := tagLimits[t]; ok && inUse(SlotTag, t) >= l {
			return "tag " + t, false
		}
	}
	return "", false
}

// RunTags is the deployment's tags plus a run's own, without repeats, in a
// stable order: the tags whose limits the run counts against.
func RunTags(d *v1alpha1.Deployment, extra []string) []string {
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
