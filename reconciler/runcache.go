package reconciler

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// parsedRun is a run's request decoded once per resourceVersion: with
// thousands of runs, decoding YAML on every pass would dominate. Its state
// is the state label; the full status is decoded only where it is needed
// (status), so ten thousand waiting runs do not each keep one.
type parsedRun struct {
	rv     string
	req    *v1alpha1.RunRequest
	reqErr error
	// admission, admitErr and admitWait are a new run's verdict under the
	// config of generation cfgGen (admitWaiting), kept so that a run
	// waiting for a slot is validated once, not every pass.
	admission *admission
	admitErr  *rejection
	admitWait *waitReason
	cfgGen    uint64
	// status is the decoded status of a run in flight, kept for its
	// resourceVersion: a run's sync comes back on each change of its Job
	// and pods, mostly to find nothing to write.
	status *v1alpha1.RunStatus
}

type runCache struct {
	mu      sync.Mutex
	entries map[types.UID]*parsedRun
}

func (c *runCache) get(cm *corev1.ConfigMap) *parsedRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[types.UID]*parsedRun{}
	}
	if p, ok := c.entries[cm.UID]; ok && p.rv == cm.ResourceVersion {
		return p
	}
	p := &parsedRun{rv: cm.ResourceVersion}
	if refused := cm.Annotations[v1alpha1.AnnotationRefused]; refused != "" {
		p.reqErr = errors.New(refused)
	} else {
		p.req, p.reqErr = v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun])
	}
	c.entries[cm.UID] = p
	return p
}

// status returns a copy of a run's decoded status, for the caller to
// change, decoded once per resourceVersion.
func (c *runCache) status(cm *corev1.ConfigMap) *v1alpha1.RunStatus {
	p := c.get(cm)
	if p.status == nil {
		p.status = status(cm)
	}
	st := *p.status
	st.Conditions = slices.Clone(st.Conditions)
	st.Tags = slices.Clone(st.Tags)
	st.Attempts = slices.Clone(st.Attempts)
	st.Notifications = slices.Clone(st.Notifications)
	return &st
}

// attempt is a run's attempt in flight or next, and when a run awaiting
// its retry may start it. A status without attempts (every run without a
// retry policy) is not decoded: a pass asks this of every waiting run.
func (c *runCache) attempt(cm *corev1.ConfigMap) (int32, time.Time) {
	if !strings.Contains(cm.Data[v1alpha1.KeyStatus], "attempt:") {
		return 1, time.Time{}
	}
	p := c.get(cm)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.status == nil {
		p.status = status(cm)
	}
	var at time.Time
	if p.status.RetryTime != nil {
		at = p.status.RetryTime.Time
	}
	return p.status.CurrentAttempt(), at
}

// attemptOf is a run's attempt (see runCache.attempt), given the state
// the reconciler verified it in: a new run, or one whose stored state is
// not the reconciler's, is at its first.
func (c *Controller) attemptOf(cm *corev1.ConfigMap, state v1alpha1.RunState) (int32, time.Time) {
	if state == "" {
		return 1, time.Time{}
	}
	return c.parsed.attempt(cm)
}

// runStatus is a run's status for its sync to change: the one the
// reconciler wrote, or an empty one where what is stored is not its own.
func (c *Controller) runStatus(cm *corev1.ConfigMap) *v1alpha1.RunStatus {
	if !c.state.trusted(cm) {
		return &v1alpha1.RunStatus{}
	}
	return c.parsed.status(cm)
}

// status decodes a run's status; a status that does not decode is empty,
// the reconciler's own output being the only writer.
func status(cm *corev1.ConfigMap) *v1alpha1.RunStatus {
	st, err := v1alpha1.DecodeRunStatus(cm.Data[v1alpha1.KeyStatus])
	if err != nil {
		return &v1alpha1.RunStatus{}
	}
	return st
}

// deploymentOf is the deployment (flow/name) a run's request names, ""
// when its request does not decode.
func (c *Controller) deploymentOf(cm *corev1.ConfigMap) string {
	if req := c.parsed.get(cm).req; req != nil {
		return req.Deployment
	}
	return ""
}

func (c *runCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, uid)
}
