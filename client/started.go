package client

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

// A run the reconciler has started can still be stored as waiting: under
// a saturated API server the reconciler holds back the write that says no
// more than that a run's Job exists (Pending, Dispatched) until the server
// has room, and a run it starts at once is never written Scheduled at all.
// The Job, which carries the run's admission, is the record of the start.
// A snapshot read from the runs alone would show such a run waiting, and
// the runs behind it a place too far back; so a snapshot also reads the
// Jobs of the waiting runs that could have started (startCandidates) and
// shows those it finds as their run's next status would (startedFromJob).

// startCandidates are the waiting runs of s that the reconciler could have
// started, by the name of the Job it would have made: those its plan would
// start now, and those in line no further back than the slots in use of
// their limit (a run still stored as holding a slot may have ended and its
// slot gone to a run behind it). Fewer than every waiting run: a thousand
// runs waiting behind a limit of ten cost the Jobs of ten.
func startCandidates(s *Snapshot) map[string]*RunInfo {
	out := map[string]*RunInfo{}
	for name, w := range s.Waits {
		r := s.byName[name]
		if r == nil || !r.Waiting() {
			continue
		}
		switch {
		case w.Reason == planner.WaitStarts:
		case w.Reason == "WaitingForSlot" && w.Position <= int(s.inUse(w.On)):
		default:
			continue
		}
		out[v1alpha1.AttemptJobName(name, r.Status.CurrentAttempt())] = r
	}
	return out
}

// inUse is the slots in use of a limit named as planner.Waiting.On names
// it ("tag db", "queue pool/q").
func (s *Snapshot) inUse(limit string) int32 {
	kind, name, _ := strings.Cut(limit, " ")
	return s.Usage.InUse(kind, name)
}

// startedFromJob is r as its next status will show it now that its Job
// exists: Pending, Dispatched, with what the Job records of its admission
// (a copy; r is left as read). The reconciler writes the same, later, or a
// state past it.
func startedFromJob(r *RunInfo, job metav1.Object) *RunInfo {
	st := *r.Status // its attempt kept: the Job was looked up by it
	st.FillAdmission(job)
	st.State, st.Reason, st.Message = v1alpha1.StatePending, v1alpha1.ReasonDispatched, v1alpha1.DispatchedMessage(job.GetName())
	cm := *r.ConfigMap
	cm.Labels = maps.Clone(cm.Labels)
	cm.Labels[v1alpha1.LabelState] = string(v1alpha1.StatePending)
	return &RunInfo{ConfigMap: &cm, Request: r.Request, RequestErr: r.RequestErr, Status: &st}
}

// withStarted is s with the candidate runs whose Jobs jobs finds shown as
// startedFromJob has them, s itself when there are none. jobs looks Jobs
// up by name; a Job counts only when its run controls it (the controller
// owner reference, by UID): anyone who may create a Job could name one
// after a run.
func withStarted(s *Snapshot, jobs func(names []string) ([]metav1.Object, error)) (*Snapshot, error) {
	candidates := startCandidates(s)
	if len(candidates) == 0 {
		return s, nil
	}
	names := make([]string, 0, len(candidates))
	for n := range candidates {
		names = append(names, n)
	}
	sort.Strings(names)
	found, err := jobs(names)
	if err != nil {
		return nil, err
	}
	started := map[string]*RunInfo{}
	for _, job := range found {
		r := candidates[job.GetName()]
		if r == nil {
			continue
		}
		if !v1alpha1.ControlledBy(job, r.ConfigMap.UID) {
			continue
		}
		started[r.ConfigMap.Name] = startedFromJob(r, job)
	}
	if len(started) == 0 {
		return s, nil
	}
	runs := make([]*RunInfo, len(s.Runs))
	for i, r := range s.Runs {
		if st := started[r.ConfigMap.Name]; st != nil {
			r = st
		}
		runs[i] = r
	}
	return Assemble(s.Namespace, s.Now, s.Installed, runs, s.Cancels), nil
}

// jobsNamedChunk is how many Job names one list selects: a selector of a
// hundred names of up to 63 characters stays well inside a request line.
const jobsNamedChunk = 100

// withStartedFromAPI is withStarted reading the Jobs from the API server:
// by their LabelRunName (which carries a Job's name), a list per hundred
// candidates, metadata only when the client has a metadata client. A user
// who may not list Jobs sees the runs as stored; so does one whose list
// fails otherwise, with a warning that says so.
func (c *Client) withStartedFromAPI(ctx context.Context, s *Snapshot) *Snapshot {
	out, err := withStarted(s, func(names []string) ([]metav1.Object, error) {
		var (
			mu    sync.Mutex
			found []metav1.Object
			errs  []error
			wg    sync.WaitGroup
		)
		for start := 0; start < len(names); start += jobsNamedChunk {
			chunk := names[start:min(start+jobsNamedChunk, len(names))]
			wg.Go(func() {
				objs, err := c.listJobsNamed(ctx, chunk)
				mu.Lock()
				defer mu.Unlock()
				found = append(found, objs...)
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			return nil, errs[0]
		}
		return found, nil
	})
	switch {
	case apierrors.IsForbidden(err):
		return s
	case err != nil:
		// The runs were read; what the Jobs would add is a start not yet
		// written, and a transient failure here (a timeout, a server
		// error) should not cost the user the rest.
		w := *s
		w.Warnings = append(slices.Clip(s.Warnings), fmt.Sprintf("the runs' Jobs could not be read, so a run started since its state was last written shows as waiting: %v", c.Explain(err, "list", "jobs")))
		return &w
	}
	return out
}

// listJobsNamed lists the namespace's Jobs of these names.
func (c *Client) listJobsNamed(ctx context.Context, names []string) ([]metav1.Object, error) {
	req, err := labels.NewRequirement(v1alpha1.LabelRunName, selection.In, names)
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{LabelSelector: labels.NewSelector().Add(*req).String()}
	var list runtime.Object
	if c.meta != nil {
		list, err = c.meta.Resource(batchv1.SchemeGroupVersion.WithResource("jobs")).Namespace(c.ns).List(ctx, opts)
	} else {
		list, err = c.kube.BatchV1().Jobs(c.ns).List(ctx, opts)
	}
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(items))
	for _, it := range items {
		if m, err := meta.Accessor(it); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}
