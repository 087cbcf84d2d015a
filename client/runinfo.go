package client

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

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

// ReadRuns reads the run ConfigMaps among items, oldest first, like a log.
func ReadRuns(items []corev1.ConfigMap) []*RunInfo {
	runs := make([]*RunInfo, 0, len(items))
	for i := range items {
		if items[i].Labels[v1alpha1.LabelRun] != "true" {
			continue
		}
		runs = append(runs, ReadRun(&items[i]))
	}
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i].ConfigMap, runs[j].ConfigMap
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	return runs
}

// Name is the run's name.
func (r *RunInfo) Name() string { return r.ConfigMap.Name }

// Deployment is the run's flow/name, from its request or else its label.
func (r *RunInfo) Deployment() string {
	if r.Request != nil {
		return r.Request.Deployment
	}
	return v1alpha1.DeploymentOfLabelValue(r.ConfigMap.Labels[v1alpha1.LabelDeployment])
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
// project.LateAfter past its time, as the reconciler counts it: its
// scheduled time, or its retry's when later.
func (r *RunInfo) DisplayState(now time.Time) v1alpha1.RunState {
	s := r.State()
	if s != v1alpha1.StateScheduled {
		return s
	}
	due := r.ScheduledTime()
	if rt := r.Status.RetryTime; rt != nil && rt.After(due) {
		due = rt.Time
	}
	if now.Sub(due) > project.LateAfter {
		return v1alpha1.StateLate
	}
	return s
}

// Waiting reports whether the run waits for its slots (Scheduled).
func (r *RunInfo) Waiting() bool { return r.State() == v1alpha1.StateScheduled }

// JobName is the name of the run's Job: the one its status names, else
// the one derived from its name.
func (r *RunInfo) JobName() string {
	if r.Status.JobName != "" {
		return r.Status.JobName
	}
	return v1alpha1.JobName(r.ConfigMap.Name)
}

// Tags are the tags the run counts against: those fixed when it was
// admitted, else its deployment's and its own.
func (r *RunInfo) Tags(in *project.Installed) []string {
	if len(r.Status.Tags) > 0 || in == nil {
		return r.Status.Tags
	}
	d := in.Deployments[r.Deployment()]
	if d == nil {
		if r.Request != nil {
			return r.Request.Tags
		}
		return nil
	}
	var extra []string
	if r.Request != nil {
		extra = r.Request.Tags
	}
	return project.RunTags(&d.Deployment, extra)
}

// PoolQueue is the pool and queue the run holds, or would use.
func (r *RunInfo) PoolQueue(in *project.Installed) (pool, queue string) {
	if r.Status.Pool != "" {
		return r.Status.Pool, r.Status.Queue
	}
	if in != nil {
		if d := in.Deployments[r.Deployment()]; d != nil {
			return d.Pool, d.Queue
		}
	}
	return "", ""
}

// Usage counts slots in use, derived from the runs' states as the
// reconciler derives them (it also frees the slot of a run whose Job has
// finished before the state is written, so a client may briefly count one
// more). Keys: pool; pool/queue; flow/name; tag.
type Usage struct {
	Pool, Queue, Deployment, Tag map[string]int32
	// Waiting counts Scheduled runs by the same keys (by the pool and
	// queue of their deployment until they are admitted).
	WaitingPool, WaitingQueue, WaitingDeployment map[string]int32
	// WaitingTag counts Scheduled runs by the tags they will count against.
	WaitingTag map[string]int32
	// Starts are, by tag, when the attempts of runs carrying it took their
	// slots (their pendingTime): what a tag's start rate is replayed from
	// (project.NextStart).
	Starts map[string][]time.Time
}

// CountSlots derives slot usage from runs.
func CountSlots(runs []*RunInfo, in *project.Installed) *Usage {
	u := &Usage{
		Pool: map[string]int32{}, Queue: map[string]int32{}, Deployment: map[string]int32{}, Tag: map[string]int32{},
		WaitingPool: map[string]int32{}, WaitingQueue: map[string]int32{}, WaitingDeployment: map[string]int32{},
		WaitingTag: map[string]int32{}, Starts: map[string][]time.Time{},
	}
	for _, r := range runs {
		st := r.Status
		for _, t := range attemptStarts(st) {
			for _, tag := range st.Tags {
				u.Starts[tag] = append(u.Starts[tag], t)
			}
		}
		switch {
		case r.State().HoldsSlot():
			u.Pool[st.Pool]++
			u.Queue[st.Pool+"/"+st.Queue]++
			u.Deployment[r.Deployment()]++
			for _, t := range st.Tags {
				u.Tag[t]++
			}
		case r.Waiting():
			u.WaitingDeployment[r.Deployment()]++
			if pool, queue := r.PoolQueue(in); pool != "" {
				u.WaitingPool[pool]++
				u.WaitingQueue[pool+"/"+queue]++
			}
			for _, t := range r.Tags(in) {
				u.WaitingTag[t]++
			}
		}
	}
	return u
}

// attemptStarts is when each attempt of a run took its slots: its ended
// attempts' and its current one's, each Job once.
func attemptStarts(st *v1alpha1.RunStatus) []time.Time {
	byJob := map[string]time.Time{}
	for _, a := range st.Attempts {
		if a.PendingTime != nil {
			byJob[a.JobName] = a.PendingTime.Time
		}
	}
	if st.PendingTime != nil {
		byJob[st.JobName] = st.PendingTime.Time
	}
	out := make([]time.Time, 0, len(byJob))
	for _, t := range byJob {
		out = append(out, t)
	}
	return out
}

// InUse is the slots in use of one limit, by the kinds and keys
// project.BlockingLimit asks for.
func (u *Usage) InUse(kind, name string) int32 {
	switch kind {
	case project.SlotPool:
		return u.Pool[name]
	case project.SlotQueue:
		return u.Queue[name]
	case project.SlotDeployment:
		return u.Deployment[name]
	}
	return u.Tag[name]
}
