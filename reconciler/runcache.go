package reconciler

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// parsedRun is a run ConfigMap decoded once per resourceVersion: with
// thousands of runs, decoding YAML on every pass would dominate.
type parsedRun struct {
	rv     string
	req    *project.RunRequest
	reqErr error
	status *project.RunStatus
	// admission is the resolved admission of a new run, kept so that a
	// run waiting for a slot is validated once, not every pass.
	admission *admission
	admitErr  *rejection
	cfgGen    uint64
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
	p.req, p.reqErr = project.DecodeRunRequest(cm.Data[project.KeyRun])
	st, err := project.DecodeRunStatus(cm.Data[project.KeyStatus])
	if err != nil {
		st = &project.RunStatus{}
	}
	p.status = st
	c.entries[cm.UID] = p
	return p
}

func (c *runCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, uid)
}
