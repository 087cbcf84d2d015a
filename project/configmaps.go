package project

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

// Installed is the project as it is installed in a namespace, read back
// from the config ConfigMaps render wrote, with the pause annotations of
// `kubectl flows pause` beside the config they override (PauseOf weighs
// them). It is the one read model of the installed config: the CLI, review
// and the reconciler all read it, the reconciler from a cache of
// DecodeConfigMap per resourceVersion. It is read only once assembled.
type Installed struct {
	Pools       map[string]*InstalledPool
	Deployments map[string]*InstalledDeployment // by flow/name
	TagLimits   map[string]int32
	// TagRates are the limits of the tags that have a start rate.
	TagRates map[string]v1alpha1.TagLimit
	// Errors names config ConfigMaps that could not be read. The
	// reconciler holds the runs they concern back rather than rejecting
	// them, since the next render may fix them.
	Errors map[string]error
}

// InstalledPool is a pool's config and where its pause comes from.
type InstalledPool struct {
	v1alpha1.Pool
	ConfigMap *corev1.ConfigMap
	// Template is the pool's base job template, parsed.
	Template *jobtemplate.Template
	// PausedByAnnotation is set by `kubectl flows pause pool`.
	PausedByAnnotation bool
	// PausedQueues are the queues paused by `kubectl flows pause queue`.
	PausedQueues map[string]bool
	// Revision names the ConfigMap's data as decoded: a reader that keeps
	// what it decoded (the reconciler) gives a new one when the data
	// changes and keeps it when only annotations do (a pause), so what
	// was worked out from the data alone can be kept. 0: not tracked.
	Revision uint64
}

// InstalledDeployment is a deployment's config.
type InstalledDeployment struct {
	v1alpha1.Deployment
	ConfigMap *corev1.ConfigMap
	// Params is the deployment's parameterSchema, compiled; nil without one.
	Params             *ParameterSchema
	PausedByAnnotation bool
	// Revision is as InstalledPool's.
	Revision uint64
}

// QueuePaused reports whether the queue itself is paused (not counting the
// pool), by config or annotation.
func (p *InstalledPool) QueuePaused(queue string) bool {
	if q := p.Queue(queue); q != nil && q.Paused {
		return true
	}
	return p.PausedQueues[queue]
}

// ReadInstalled reads the config ConfigMaps (those labelled LabelConfig)
// of a namespace as a client does: by AssembleConfig's rule, under the
// config index as found (a client cannot read the reconciler's
// --config-digest), decoding each by DecodeConfigMap. No ConfigMaps at all
// is an empty install, not an error.
func ReadInstalled(cms []corev1.ConfigMap) *Installed {
	if len(cms) == 0 {
		return ReadConfig(nil)
	}
	all := make([]*corev1.ConfigMap, len(cms))
	for i := range cms {
		all[i] = &cms[i]
	}
	return AssembleConfig(all, "", DecodeConfigMap)
}

// AssembleConfig builds the installed config from the config ConfigMaps
// of a namespace by the reconciler's rule: only those the config index
// whose digest is root lists, unchanged (v1alpha1.TrustedConfig; root ""
// takes the index found), each read by decode (DecodeConfigMap, or a cache
// of it). What cannot be trusted or read is reported in Errors, not fatal.
func AssembleConfig(cms []*corev1.ConfigMap, root string, decode func(*corev1.ConfigMap) (any, error)) *Installed {
	trusted, errs := v1alpha1.TrustedConfig(cms, root)
	in := assemble(trusted, decode)
	for name, err := range errs {
		in.Errors[name] = err
	}
	return in
}

// ReadConfig reads config ConfigMaps as they are, trusting them all: for
// a rendered tree under review, whose files are what the change says.
func ReadConfig(trusted []*corev1.ConfigMap) *Installed {
	return assemble(trusted, DecodeConfigMap)
}

// ReadConfigWith is ReadConfig with each ConfigMap read by decode
// (DecodeConfigMap, or what stands in for it): review reads a ConfigMap
// that both sides of a change hold alike once.
func ReadConfigWith(trusted []*corev1.ConfigMap, decode func(*corev1.ConfigMap) (any, error)) *Installed {
	return assemble(trusted, decode)
}

func assemble(trusted []*corev1.ConfigMap, decode func(*corev1.ConfigMap) (any, error)) *Installed {
	in := &Installed{
		Pools:       map[string]*InstalledPool{},
		Deployments: map[string]*InstalledDeployment{},
		TagLimits:   map[string]int32{},
		TagRates:    map[string]v1alpha1.TagLimit{},
		Errors:      map[string]error{},
	}
	for _, cm := range trusted {
		v, err := decode(cm)
		if err != nil {
			in.Errors[cm.Name] = err
			continue
		}
		switch v := v.(type) {
		case *InstalledPool:
			in.Pools[v.Name] = v
		case *InstalledDeployment:
			in.Deployments[v.FullName()] = v
		case []v1alpha1.TagLimit:
			for _, l := range v {
				in.TagLimits[l.Tag] = l.Limit
				if l.Rate != "" {
					in.TagRates[l.Tag] = l
				}
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

// DecodeConfigMap reads one config ConfigMap render wrote, by its
// LabelConfig: an *InstalledPool (its template parsed), an
// *InstalledDeployment (its parameterSchema compiled) or the []v1alpha1.TagLimit of
// the limits ConfigMap; nil for a ConfigMap that is none of these. It is
// strict (an unknown field is an error), and it is the one reader of this
// format: the CLI, review and the reconciler all decode through it, so a
// ConfigMap one of them accepts, all do.
func DecodeConfigMap(cm *corev1.ConfigMap) (any, error) {
	return DecodeConfigMapWith(cm, nil)
}

// DecodeConfigMapWith is DecodeConfigMap compiling parameterSchemas
// through schemas, for a reader of many deployments at once.
func DecodeConfigMapWith(cm *corev1.ConfigMap, schemas *SchemaCache) (any, error) {
	switch cm.Labels[v1alpha1.LabelConfig] {
	case v1alpha1.ConfigPool:
		pool, err := v1alpha1.DecodePool(cm)
		if err != nil {
			return nil, err
		}
		p := &InstalledPool{Pool: *pool, ConfigMap: cm, PausedQueues: map[string]bool{}}
		t, err := jobtemplate.Parse([]byte(cm.Data[v1alpha1.KeyJobTemplate]), "ConfigMap "+cm.Name+": "+v1alpha1.KeyJobTemplate)
		if err != nil {
			return nil, err
		}
		p.Template = t
		p.PausedByAnnotation = cm.Annotations[v1alpha1.AnnotationPaused] == "true"
		for _, q := range v1alpha1.SplitList(cm.Annotations[v1alpha1.AnnotationPausedQueues]) {
			p.PausedQueues[q] = true
		}
		return p, nil
	case v1alpha1.ConfigDeployment:
		dep, err := v1alpha1.DecodeDeployment(cm)
		if err != nil {
			return nil, err
		}
		d := &InstalledDeployment{Deployment: *dep, ConfigMap: cm}
		if d.ParameterSchema != nil {
			if d.Params, err = schemas.Compile(d.ParameterSchema); err != nil {
				return nil, fmt.Errorf("ConfigMap %s: %v", cm.Name, err)
			}
		}
		d.PausedByAnnotation = cm.Annotations[v1alpha1.AnnotationPaused] == "true"
		return d, nil
	case v1alpha1.ConfigLimits:
		return v1alpha1.DecodeLimits(cm)
	}
	return nil, nil
}
