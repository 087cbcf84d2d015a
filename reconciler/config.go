package reconciler

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Config is the project as the reconciler sees it, read back from the
// ConfigMaps render wrote. It is rebuilt from the informer cache on each
// dispatch pass; parsing is cached per ConfigMap resourceVersion.
type Config struct {
	Pools       map[string]*Pool
	Deployments map[string]*Deployment // by flow/name
	TagLimits   map[string]int32
	// Errors names config ConfigMaps that could not be read; their runs
	// wait rather than being rejected, since the next render may fix them.
	Errors map[string]error
	// resolvedDefaults holds, per deployment, the values of a run with
	// none of its own (see admit).
	resolvedDefaults map[string]*resolvedValues
}

// Pool is a pool's config with its parsed template and pause state.
type Pool struct {
	v1alpha1.Pool
	Template     *jobtemplate.Template
	PausedQueues map[string]bool
}

// Deployment is a deployment's config, its parameter schema compiled once.
type Deployment struct {
	v1alpha1.Deployment
	Params *project.ParameterSchema
}

// queuePaused reports whether a queue of the pool is paused, by config or
// by `kubectl flows pause queue`.
func (p *Pool) queuePaused(queue string) bool {
	if q := p.Queue(queue); q != nil && q.Paused {
		return true
	}
	return p.PausedQueues[queue]
}

// configCache parses each config ConfigMap once per resourceVersion.
type configCache struct {
	// root is the digest of the config index the reconciler was started
	// with (v1alpha1.TrustedConfig).
	root    string
	mu      sync.Mutex
	entries map[types.UID]configEntry
}

type configEntry struct {
	rv  string
	val any // *Pool, *Deployment or map[string]int32
	err error
}

func (c *configCache) parse(cm *corev1.ConfigMap) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[types.UID]configEntry{}
	}
	if e, ok := c.entries[cm.UID]; ok && e.rv == cm.ResourceVersion {
		return e.val, e.err
	}
	val, err := parseConfigMap(cm)
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

// parseConfigMap decodes a config ConfigMap by project.DecodeConfigMap and
// folds the pause annotations into the config, as the reconciler acts on
// either the same way.
func parseConfigMap(cm *corev1.ConfigMap) (any, error) {
	v, err := project.DecodeConfigMap(cm)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *project.InstalledPool:
		p := &Pool{Pool: v.Pool, Template: v.Template, PausedQueues: v.PausedQueues}
		p.Paused = v.PoolPaused()
		return p, nil
	case *project.InstalledDeployment:
		d := &Deployment{Deployment: v.Deployment, Params: v.Params}
		d.Paused = v.DeploymentPaused()
		return d, nil
	case []v1alpha1.TagLimit:
		m := make(map[string]int32, len(v))
		for _, l := range v {
			m[l.Tag] = l.Limit
		}
		return m, nil
	}
	return nil, nil
}

// build assembles a Config from the config ConfigMaps the index trusts.
func (c *configCache) build(cms []*corev1.ConfigMap) *Config {
	cfg := &Config{
		Pools:       map[string]*Pool{},
		Deployments: map[string]*Deployment{},
		TagLimits:   map[string]int32{},
		Errors:      map[string]error{},

		resolvedDefaults: map[string]*resolvedValues{},
	}
	live := make(map[types.UID]bool, len(cms))
	trusted, errs := v1alpha1.TrustedConfig(cms, c.root)
	for name, err := range errs {
		cfg.Errors[name] = err
	}
	for _, cm := range trusted {
		live[cm.UID] = true
		val, err := c.parse(cm)
		if err != nil {
			cfg.Errors[cm.Name] = err
			continue
		}
		switch v := val.(type) {
		case *Pool:
			cfg.Pools[v.Name] = v
		case *Deployment:
			cfg.Deployments[v.FullName()] = v
		case map[string]int32:
			for k, l := range v {
				cfg.TagLimits[k] = l
			}
		}
	}
	c.retain(live)
	return cfg
}
