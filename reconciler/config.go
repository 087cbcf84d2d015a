package reconciler

import (
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// configCache reads the installed config from the informer cache on each
// pass (project.AssembleConfig), decoding each config ConfigMap once per
// resourceVersion.
type configCache struct {
	// root is the digest of the config index the reconciler was started
	// with (v1alpha1.TrustedConfig).
	root    string
	mu      sync.Mutex
	entries map[types.UID]configEntry
	// revisions counts the data revisions handed out (Revision of the
	// installed pools and deployments).
	revisions uint64
}

type configEntry struct {
	rv       string
	labels   map[string]string
	data     map[string]string // the informer's own map: not a copy
	revision uint64
	val      any // what project.DecodeConfigMap returned
	err      error
}

func (c *configCache) decode(cm *corev1.ConfigMap) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[types.UID]configEntry{}
	}
	e, ok := c.entries[cm.UID]
	if ok && e.rv == cm.ResourceVersion {
		return e.val, e.err
	}
	// A change of annotations alone (a pause, a resume, a GitOps tool's
	// bookkeeping) keeps the revision: the runs waiting on this pool or
	// deployment keep their checked values instead of each being
	// resolved again.
	if !ok || !maps.Equal(e.data, cm.Data) || !maps.Equal(e.labels, cm.Labels) {
		c.revisions++
		e.revision = c.revisions
	}
	val, err := project.DecodeConfigMap(cm)
	switch v := val.(type) {
	case *project.InstalledPool:
		v.Revision = e.revision
	case *project.InstalledDeployment:
		v.Revision = e.revision
	}
	c.entries[cm.UID] = configEntry{rv: cm.ResourceVersion, labels: cm.Labels, data: cm.Data, revision: e.revision, val: val, err: err}
	return val, err
}

// retain drops entries for ConfigMaps no longer present.
func (c *configCache) retain(live map[types.UID]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for uid := range c.entries {
		if !live[uid] {
			delete(c.entries, uid)
		}
	}
}

// build reads the installed config from the config ConfigMaps the index
// trusts. What it returns is shared with the cache: read only.
func (c *configCache) build(cms []*corev1.ConfigMap) *project.Installed {
	cfg := project.AssembleConfig(cms, c.root, c.decode)
	live := make(map[types.UID]bool, len(cms))
	for _, cm := range cms {
		live[cm.UID] = true
	}
	c.retain(live)
	return cfg
}
