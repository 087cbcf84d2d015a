package project

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// LateAfter is how long past its scheduled time a waiting run is shown
// Late (as the reconciler does; it is never stored).
const LateAfter = 15 * time.Second

// RunInfo is a run request ConfigMap read back: the request, the
// reconciler's status, and the state to show.
type RunInfo struct {
	ConfigMap *corev1.ConfigMap
	Request   *v1alpha1.RunRequest
	// RequestErr is why run.yaml does not parse (the run will be Rejected).
	RequestErr error
	Status     *v1alpha1.RunStatus
}

// ReadRun parses a run ConfigMap; it never fails, as a bad run is still a
// run to show.
func ReadRun(cm *corev1.ConfigMap) *RunInfo {
	r := &RunInfo{ConfigMap: cm}
	r.Request, r.RequestErr = v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun])
	st, err := v1alpha1.DecodeRunStatus(cm.Data[v1alpha1.KeyStatus])
	if err != nil || st == nil {
		st = &v1alpha1.RunStatus{}
	}
	if st.State == "" {
		// The label may be written before a client reads status.yaml.
		st.State = v1alpha1.RunState(cm.Labels[v1alpha1.LabelState])
	}
	r.Status = st
	return r
}

// Deployment is the run's flow/name, from its request or else its label.
func (r *RunInfo) Deployment() string {
	if r.Request != nil {
		return r.Request.Deployment
	}
	if v := r.ConfigMap.Labels[v1alpha1.LabelDeployment]; v != "" {
		for i := 0; i < len(v); i++ {
			if v[i] == '.' {
				return v[:i] + "/" + v[i+1:]
			}
		}
	}
	return ""
}

// State is the stored state; a run the reconciler has not seen yet is
// Scheduled.
func (r *RunInfo) State() v1alpha1.RunState {
	if r.Status.State == "" {
		return v1alpha1.StateScheduled
	}
	return r.Status.State
}

// ScheduledTime is when the run may start.
func (r *RunInfo) ScheduledTime() time.Time {
	if r.Status.ScheduledTime != nil {
		return r.Status.ScheduledTime.Time
	}
	if r.Request != nil && r.Request.ScheduledTime != nil {
		return r.Request.ScheduledTime.Time
	}
	return r.ConfigMap.CreationTimestamp.Time
}

// DisplayState is the state to show: Late for a Scheduled run more than
// LateAfter past its scheduled time.
func (r *RunInfo) DisplayState(now time.Time) v1alpha1.RunState {
	s := r.State()
	if s == v1alpha1.StateScheduled && now.Sub(r.ScheduledTime()) > LateAfter {
		return v1alpha1.StateLate
	}
	return s
}

// Waiting reports whether the run waits for its slots (Scheduled).
func (r *RunInfo) Waiting() bool { return r.State() == v1alpha1.StateScheduled }

// Usage counts slots in use, derived from the runs' states as the
// reconciler derives them (it also frees the slot of a run whose Job has
// finished before the state is written, so a client may briefly count one
// more). Keys: pool; pool/queue; flow/name; tag.
type Usage struct {
	Pool, Queue, Deployment, Tag map[string]int32
	// Waiting counts Scheduled runs by the same keys (pool and queue only
	// when known: a run is assigned its queue when admitted).
	WaitingPool, WaitingQueue, WaitingDeployment map[string]int32
	// WaitingTag counts Scheduled runs by the tags they will count against.
	WaitingTag map[string]int32
}

// CountSlots derives slot usage from runs.
func CountSlots(runs []*RunInfo, in *Installed) *Usage {
	u := &Usage{
		Pool: map[string]int32{}, Queue: map[string]int32{}, Deployment: map[string]int32{}, Tag: map[string]int32{},
		WaitingPool: map[string]int32{}, WaitingQueue: map[string]int32{}, WaitingDeployment: map[string]int32{},
		WaitingTag: map[string]int32{},
	}
	for _, r := range runs {
		st := r.Status
		switch {
		case r.State().HoldsSlot():
			u.Pool[st.Pool]++
			u.Queue[st.Pool+"/"+st.Queue]++
			u.Deployment[r.Deployment()]++
			for _, t := range st.Tags {
				u.Tag[t]++
			}
		case r.Waiting():
			d := r.Deployment()
			u.WaitingDeployment[d]++
			pool, queue := st.Pool, st.Queue
			if pool == "" && in != nil {
				if dep := in.Deployments[d]; dep != nil {
					pool, queue = dep.Pool, dep.Queue
				}
			}
			if pool != "" {
				u.WaitingPool[pool]++
				u.WaitingQueue[pool+"/"+queue]++
			}
			for _, t := range r.WaitingTags(in) {
				u.WaitingTag[t]++
			}
		}
	}
	return u
}

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
// waits. inUse(kind, name) is the slots in use, keyed as Usage keys them
// (pool; pool/queue; flow/name; tag); it is called only for limits that
// are set. deploymentFull says the deployment's own limit is the one (for
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

// InUse is the slots in use of one limit, by the kinds and keys
// BlockingLimit asks for.
func (u *Usage) InUse(kind, name string) int32 {
	switch kind {
	case SlotPool:
		return u.Pool[name]
	case SlotQueue:
		return u.Queue[name]
	case SlotDeployment:
		return u.Deployment[name]
	}
	return u.Tag[name]
}

// WaitingTags is the tags a waiting run will count against: those fixed
// when it was admitted, else its deployment's and its own.
func (r *RunInfo) WaitingTags(in *Installed) []string {
	if len(r.Status.Tags) > 0 || in == nil {
		return r.Status.Tags
	}
	d := in.Deployments[r.Deployment()]
	if d == nil {
		return nil
	}
	var extra []string
	if r.Request != nil {
		extra = r.Request.Tags
	}
	return RunTags(&d.Deployment, extra)
}
