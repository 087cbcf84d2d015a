package reconciler

import (
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
}

type configEntry struct {
	rv  string
	val any // what project.DecodeConfigMap returned
	err error
}

func (c *configCache) decode(cm *corev1.ConfigMap) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[types.UID]configEntry{}
	}
	if e, ok := c.entries[cm.UID]; ok && e.rv == cm.ResourceVersion {
		return e.val, e.err
	}
	val, err := project.DecodeConfigMap(cm)
	c.entries[cm.UID] = configEntry{rv: cm.ResourceVersion, val: val, err: err}
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
