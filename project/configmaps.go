package project

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Installed is the project as it is installed in a namespace, read back
// from the config ConfigMaps render wrote, with the pause annotations of
// `kubectl flows pause` applied. Clients (the CLI) use it; the reconciler
// has its own cached reader with the same meaning.
type Installed struct {
	Pools       map[string]*InstalledPool
	Deployments map[string]*InstalledDeployment // by flow/name
	TagLimits   map[string]int32
	// Errors names config ConfigMaps that could not be read.
	Errors map[string]error
}

// InstalledPool is a pool's config and where its pause comes from.
type InstalledPool struct {
	Pool
	ConfigMap *corev1.ConfigMap
	// PausedByAnnotation is set by `kubectl flows pause pool`.
	PausedByAnnotation bool
	// PausedQueues are the queues paused by `kubectl flows pause queue`.
	PausedQueues map[string]bool
}

// InstalledDeployment is a deployment's config.
type InstalledDeployment struct {
	Deployment
	ConfigMap          *corev1.ConfigMap
	PausedByAnnotation bool
}

// PoolPaused reports whether the pool is paused, by config or annotation.
func (p *InstalledPool) PoolPaused() bool { return p.Paused || p.PausedByAnnotation }

// QueuePaused reports whether the queue itself is paused (not counting the
// pool), by config or annotation.
func (p *InstalledPool) QueuePaused(queue string) bool {
	if q := p.Queue(queue); q != nil && q.Paused {
		return true
	}
	return p.PausedQueues[queue]
}

// DeploymentPaused reports whether the deployment is paused.
func (d *InstalledDeployment) DeploymentPaused() bool { return d.Paused || d.PausedByAnnotation }

// ReadInstalled reads the config ConfigMaps (those labelled LabelConfig).
// A ConfigMap that does not parse is reported in Errors, not fatal.
func ReadInstalled(cms []corev1.ConfigMap) *Installed {
	in := &Installed{
		Pools:       map[string]*InstalledPool{},
		Deployments: map[string]*InstalledDeployment{},
		TagLimits:   map[string]int32{},
		Errors:      map[string]error{},
	}
	if len(cms) == 0 {
		return in
	}
	// The same rule as the reconciler's: only ConfigMaps the config index
	// lists, unchanged, are config (see TrustedConfig), read as strictly.
	all := make([]*corev1.ConfigMap, len(cms))
	for i := range cms {
		all[i] = &cms[i]
	}
	trusted, errs := TrustedConfig(all, "")
	for name, err := range errs {
		in.Errors[name] = err
	}
	for _, cm := range trusted {
		switch cm.Labels[LabelConfig] {
		case ConfigPool:
			p := &InstalledPool{ConfigMap: cm, PausedQueues: map[string]bool{}}
			if err := yaml.UnmarshalStrict([]byte(cm.Data[KeyPool]), &p.Pool); err != nil {
				in.Errors[cm.Name] = fmt.Errorf("ConfigMap %s: %s: %v", cm.Name, KeyPool, err)
				continue
			}
			p.PausedByAnnotation = cm.Annotations[AnnotationPaused] == "true"
			for _, q := range SplitList(cm.Annotations[AnnotationPausedQueues]) {
				p.PausedQueues[q] = true
			}
			in.Pools[p.Name] = p
		case ConfigDeployment:
			d := &InstalledDeployment{ConfigMap: cm}
			if err := yaml.UnmarshalStrict([]byte(cm.Data[KeyDeployment]), &d.Deployment); err != nil {
				in.Errors[cm.Name] = fmt.Errorf("ConfigMap %s: %s: %v", cm.Name, KeyDeployment, err)
				continue
			}
			d.PausedByAnnotation = cm.Annotations[AnnotationPaused] == "true"
			in.Deployments[d.FullName()] = d
		case ConfigLimits:
			var limits []TagLimit
			if err := yaml.UnmarshalStrict([]byte(cm.Data[KeyLimits]), &limits); err != nil {
				in.Errors[cm.Name] = fmt.Errorf("ConfigMap %s: %s: %v", cm.Name, KeyLimits, err)
				continue
			}
			for _, l := range limits {
				in.TagLimits[l.Tag] = l.Limit
			}
		}
	}
	return in
}

// Empty reports whether nothing of a project is installed.
func (in *Installed) Empty() bool {
	return len(in.Pools) == 0 && len(in.Deployments) == 0 && len(in.Errors) == 0
}

// DeploymentNames returns flow/name of every deployment, sorted.
func (in *Installed) DeploymentNames() []string {
	names := make([]string, 0, len(in.Deployments))
	for n := range in.Deployments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// PoolNames returns every pool's name, sorted.
func (in *Installed) PoolNames() []string {
	names := make([]string, 0, len(in.Pools))
	for n := range in.Pools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// QueueNames returns pool/queue of every queue, sorted.
func (in *Installed) QueueNames() []string {
	var names []string
	for _, p := range in.Pools {
		for _, q := range p.Queues {
			names = append(names, p.Name+"/"+q.Name)
		}
	}
	sort.Strings(names)
	return names
}

// SplitList splits a comma-separated annotation value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
