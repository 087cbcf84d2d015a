package reconciler

import (
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

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
	project.Pool
	Template     *jobtemplate.Template
	PausedQueues map[string]bool
}

// Deployment is a deployment's config, its parameter schema compiled once.
type Deployment struct {
	project.Deployment
	Params *project.ParameterSchema
}

// Paused reports whether the pool (or, with queue set, the queue) is
// paused, by config or by `kubectl flows pause`.
func (p *Pool) queuePaused(queue string) bool {
	if q := p.Queue(queue); q != nil && q.Paused {
		return true
	}
	return p.PausedQueues[queue]
}

// configCache parses each config ConfigMap once per resourceVersion.
type configCache struct {
	// root is the digest of the config index the reconciler was started
	// with (project.TrustedConfig).
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

// forget drops entries for ConfigMaps no longer present.
func (c *configCache) retain(live map[types.UID]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for uid := range c.entries {
		if !live[uid] {
			delete(c.entries, uid)
		}
	}
}

func parseConfigMap(cm *corev1.ConfigMap) (any, error) {
	switch cm.Labels[project.LabelConfig] {
	case project.ConfigPool:
		p := &Pool{PausedQueues: map[string]bool{}}
		if err := yaml.UnmarshalStrict([]byte(cm.Data[project.KeyPool]), &p.Pool); err != nil {
			return nil, fmt.Errorf("ConfigMap %s: %s: %v", cm.Name, project.KeyPool, err)
		}
		t, err := jobtemplate.Parse([]byte(cm.Data[project.KeyJobTemplate]), "ConfigMap "+cm.Name+": "+project.KeyJobTemplate)
		if err != nil {
			return nil, err
		}
		p.Template = t
		if isTrue(cm.Annotations[project.AnnotationPaused]) {
			p.Paused = true
		}
		for _, q := range strings.Split(cm.Annotations[project.AnnotationPausedQueues], ",") {
			if q = strings.TrimSpace(q); q != "" {
				p.PausedQueues[q] = true
			}
		}
		return p, nil
	case project.ConfigDeployment:
		d := &Deployment{}
		if err := yaml.UnmarshalStrict([]byte(cm.Data[project.KeyDeployment]), &d.Deployment); err != nil {
			return nil, fmt.Errorf("ConfigMap %s: %s: %v", cm.Name, project.KeyDeployment, err)
		}
		if d.ParameterSchema != nil {
			var err error
			if d.Params, err = project.CompileParameterSchema(d.ParameterSchema); err != nil {
				return nil, fmt.Errorf("ConfigMap %s: %v", cm.Name, err)
			}
		}
		if isTrue(cm.Annotations[project.AnnotationPaused]) {
			d.Paused = true
		}
		return d, nil
	case project.ConfigLimits:
		var limits []project.TagLimit
		if err := yaml.UnmarshalStrict([]byte(cm.Data[project.KeyLimits]), &limits); err != nil {
			return nil, fmt.Errorf("ConfigMap %s: %s: %v", cm.Name, project.KeyLimits, err)
		}
		m := make(map[string]int32, len(limits))
		for _, l := range limits {
			m[l.Tag] = l.Limit
		}
		return m, nil
	}
	return nil, nil
}

func isTrue(s string) bool { return s == "true" }

// buildConfig assembles a Config from the config ConfigMaps.
func (c *configCache) build(cms []*corev1.ConfigMap) *Config {
	cfg := &Config{
		Pools:       map[string]*Pool{},
		Deployments: map[string]*Deployment{},
		TagLimits:   map[string]int32{},
		Errors:      map[string]error{},

		resolvedDefaults: map[string]*resolvedValues{},
	}
	live := make(map[types.UID]bool, len(cms))
	trusted, errs := project.TrustedConfig(cms, c.root)
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
