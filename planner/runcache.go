package planner

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/sharing"
)

// ParsedRun is a run's request decoded once per resourceVersion: with
// thousands of runs, decoding YAML on every pass would dominate. Its state
// is the state label; the full status is decoded only where it is needed
// (status), so ten thousand waiting runs do not each keep one.
type ParsedRun struct {
	rv string
	// Request is the run's decoded request, without the values of its own
	// (parameters, job variables, timeout) when it has any, which values
	// says: those are read only where a run is admitted (Admit) and its
	// Job made (Admission.CheckedRun), which decode them again from the
	// run's ConfigMap, so that ten thousand runs waiting, each with values
	// of its own, do not each keep them decoded (about 1 KB a run).
	Request    *v1alpha1.RunRequest
	RequestErr error
	// admission, admitErr and admitWait are a new run's verdict under the
	// config of generation cfgGen (AdmitWaiting), kept so that a run
	// waiting for a slot is validated once, not every pass.
	admission *Admission
	admitErr  *Rejection
	admitWait *WaitReason
	cfgGen    uint64
	// values are the run's own parameters and job variables checked, kept
	// across config generations while its pool's and deployment's data
	// are the same (Admit).
	values OwnValues
	// status is the decoded status of a run in flight, kept for its
	// resourceVersion: a run's sync comes back on each change of its Job
	// and pods, mostly to find nothing to write.
	status *v1alpha1.RunStatus
}

// RunCache holds each run's ParsedRun, for its resourceVersion.
type RunCache struct {
	mu      sync.Mutex
	entries map[types.UID]*ParsedRun
	// requests shares a decoded request among runs whose requests are
	// equal (small ones: sharing.MaxBytes): runs submitted alike, ten
	// thousand waiting, keep one. A decoded request is read only.
	requests sharing.Table[string, decodedRequest]
	// withoutValues shares, by deployment, the request kept for runs
	// that name only their deployment and values of their own.
	withoutValues sharing.Table[string, *v1alpha1.RunRequest]
}

// decodedRequest is a request as a run keeps it: without its own values,
// which dropped says it had. Kept whole in the table, the values of
// runs that each have their own would stay decoded (about 1 KB each)
// for the table's thousand entries.
type decodedRequest struct {
	req     *v1alpha1.RunRequest
	err     error
	dropped bool
}

// decode decodes a run's request, or hands out the one decoded for an
// equal request.
func (c *RunCache) decode(raw string) decodedRequest {
	decode := func() decodedRequest {
		req, err := v1alpha1.DecodeRunRequest(raw)
		if req != nil && hasOwnValues(req) {
			return decodedRequest{req: c.dropValues(req), dropped: true}
		}
		return decodedRequest{req: req, err: err}
	}
	if len(raw) > sharing.MaxBytes {
		return decode()
	}
	return c.requests.Get(raw, decode)
}

func (c *RunCache) Get(cm *corev1.ConfigMap) *ParsedRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[types.UID]*ParsedRun{}
	}
	if p, ok := c.entries[cm.UID]; ok && p.rv == cm.ResourceVersion {
		return p
	}
	p := &ParsedRun{rv: cm.ResourceVersion}
	if refused := cm.Annotations[v1alpha1.AnnotationRefused]; refused != "" {
		p.RequestErr = errors.New(refused)
	} else {
		d := c.decode(RequestData(cm))
		p.Request, p.RequestErr, p.values.dropped = d.req, d.err, d.dropped
	}
	c.entries[cm.UID] = p
	return p
}

// RequestData is a run's request as submitted (its run.yaml). The
// reconciler's cache keeps it in the cached copy's selfLink instead, a
// field the API server clears before it stores an object, so that runs
// that differ only in their request share one data map
// (reconciler.keepRunMeta); there the data holds no run.yaml.
func RequestData(cm *corev1.ConfigMap) string {
	if data, ok := cm.Data[v1alpha1.KeyRun]; ok {
		return data
	}
	return cm.GetSelfLink()
}

// hasOwnValues says a request carries values of its own, checked against
// its deployment and pool (Admit).
func hasOwnValues(req *v1alpha1.RunRequest) bool {
	return len(req.Parameters) > 0 || len(req.JobVariables) > 0 || req.Timeout != nil
}

// dropValues is req without its own values; one for all the runs of a
// deployment that name nothing else.
func (c *RunCache) dropValues(req *v1alpha1.RunRequest) *v1alpha1.RunRequest {
	build := func() *v1alpha1.RunRequest {
		return &v1alpha1.RunRequest{Deployment: req.Deployment, Tags: req.Tags, ScheduledTime: req.ScheduledTime, Parent: req.Parent}
	}
	if len(req.Tags) > 0 || req.ScheduledTime != nil || req.Parent != nil {
		return build()
	}
	return c.withoutValues.Get(req.Deployment, build)
}

// Status returns a copy of a run's decoded Status, for the caller to
// change, decoded once per resourceVersion.
func (c *RunCache) Status(cm *corev1.ConfigMap) *v1alpha1.RunStatus {
	p := c.Get(cm)
	if p.status == nil {
		p.status = StatusOf(cm)
	}
	st := *p.status
	st.Conditions = slices.Clone(st.Conditions)
	st.Tags = slices.Clone(st.Tags)
	st.Attempts = slices.Clone(st.Attempts)
	st.Notifications = slices.Clone(st.Notifications)
	return &st
}

// Attempt is a run's Attempt in flight or next, and when a run awaiting
// its retry may start it. A status without attempts (every run without a
// retry policy) is not decoded: a pass asks this of every waiting run.
func (c *RunCache) Attempt(cm *corev1.ConfigMap) (int32, time.Time) {
	if !strings.Contains(cm.Data[v1alpha1.KeyStatus], "attempt:") {
		return 1, time.Time{}
	}
	p := c.Get(cm)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.status == nil {
		p.status = StatusOf(cm)
	}
	var at time.Time
	if p.status.RetryTime != nil {
		at = p.status.RetryTime.Time
	}
	return p.status.CurrentAttempt(), at
}

// StatusOf decodes a run's StatusOf; a StatusOf that does not decode is empty,
// the reconciler's own output being the only writer.
func StatusOf(cm *corev1.ConfigMap) *v1alpha1.RunStatus {
	st, err := v1alpha1.DecodeRunStatus(cm.Data[v1alpha1.KeyStatus])
	if err != nil {
		return &v1alpha1.RunStatus{}
	}
	return st
}

func (c *RunCache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, uid)
}
