// Package project is the shared model of kubectl-flows: the project file
// (work pools, queues, tag limits, deployments), how it is loaded from YAML
// or Jsonnet, and how it is validated. The renderer writes it out as
// ConfigMaps and the reconciler reads those back, so both sides use these
// types and nothing else.
package project

import (
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// APIVersion and Kind identify a project file.
	APIVersion = "kubectl-flows.dev/v1alpha1"
	Kind       = "Project"

	// DefaultQueue is the queue every pool has unless it declares one.
	DefaultQueue = "default"
	// DefaultQueuePriority matches Prefect's default work queue priority.
	DefaultQueuePriority = 1
	// DefaultReplicas gives the reconciler a standby for leader failover.
	DefaultReplicas = 2
	// DefaultReconcilerImage is the published reconciler image; render
	// tags it with the plugin's own version (ReconcilerImage).
	DefaultReconcilerImage = "ghcr.io/kubectl-flows/flows-reconciler"
)

// ReconcilerImage is the reconciler image render installs when the project
// names none: tagged with the plugin's version, the one it was released
// with; a development build (no version, "dev", or a dirty tree) points at
// the moving "latest". `make image` tags its build the same way.
func ReconcilerImage(version string) string {
	tag := version
	if version == "" || version == "dev" || strings.Contains(version, "dirty") {
		tag = "latest"
	}
	return DefaultReconcilerImage + ":" + tag
}

// Collision strategies for a deployment at its concurrency limit, named as
// Prefect names them.
const (
	CollisionEnqueue   = "Enqueue"
	CollisionCancelNew = "CancelNew"
)

// Project is the whole project file.
type Project struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Name names the project; it labels everything rendered.
	Name string `json:"name"`
	// Namespace is where the reconciler, the config and the runs live.
	Namespace  string     `json:"namespace"`
	Reconciler Reconciler `json:"reconciler,omitempty"`
	// RunRetention is the default for every pool that sets none.
	RunRetention      *Retention   `json:"runRetention,omitempty"`
	Pools             []Pool       `json:"pools"`
	ConcurrencyLimits []TagLimit   `json:"concurrencyLimits,omitempty"`
	Deployments       []Deployment `json:"deployments,omitempty"`
}

// Reconciler configures the in-cluster reconciler install.
type Reconciler struct {
	Image     string                       `json:"image,omitempty"`
	Replicas  *int32                       `json:"replicas,omitempty"`
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// Retention bounds how many finished runs are kept per deployment, and for
// how long.
type Retention struct {
	Count *int32           `json:"count,omitempty"`
	Age   *metav1.Duration `json:"age,omitempty"`
}

// Pool is a work pool: a base job template, a concurrency limit shared by
// all of its queues, and the queues themselves.
type Pool struct {
	Name string `json:"name"`
	// ConcurrencyLimit caps the pool's runs in flight; unset is unlimited.
	ConcurrencyLimit *int32 `json:"concurrencyLimit,omitempty"`
	Paused           bool   `json:"paused,omitempty"`
	// BaseJobTemplate is either a path (relative to the project file) to a
	// Prefect base job template in JSON or YAML, or the template inline.
	// Unset means the shipped default template.
	BaseJobTemplate json.RawMessage `json:"baseJobTemplate,omitempty"`
	// JobVariables are the pool's values for the template's variables;
	// deployments and runs override them.
	JobVariables map[string]any `json:"jobVariables,omitempty"`
	Queues       []Queue        `json:"queues,omitempty"`
	RunRetention *Retention     `json:"runRetention,omitempty"`
	// RunOverrides names the job variables a run request may set for the
	// pool's deployments. Absent, it is the default set (resources and
	// env), which load writes in; an empty list allows none. It is never
	// omitted when written, so an empty list stays empty.
	RunOverrides []string `json:"runOverrides"`
}

// Queue is a work queue within a pool.
type Queue struct {
	Name string `json:"name"`
	// Priority orders dispatch: a lower number is served first.
	Priority         int32  `json:"priority,omitempty"`
	ConcurrencyLimit *int32 `json:"concurrencyLimit,omitempty"`
	Paused           bool   `json:"paused,omitempty"`
}

// TagLimit is a global concurrency limit: Limit slots shared by every run
// that carries Tag, across deployments and pools.
type TagLimit struct {
	Tag   string `json:"tag"`
	Limit int32  `json:"limit"`
}

// Deployment is a runnable flow: `kubectl flows run FLOW/NAME`.
type Deployment struct {
	Flow        string `json:"flow"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Entrypoint is the flow's code location, e.g. flows/hello.py:hello.
	Entrypoint string `json:"entrypoint"`
	// Image is shorthand for the job variable "image".
	Image      string         `json:"image,omitempty"`
	Pool       string         `json:"pool"`
	Queue      string         `json:"queue,omitempty"`
	Tags       []string       `json:"tags,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
	// ParameterSchema is a JSON Schema for the flow's parameters.
	ParameterSchema   map[string]any `json:"parameterSchema,omitempty"`
	JobVariables      map[string]any `json:"jobVariables,omitempty"`
	Schedules         []Schedule     `json:"schedules,omitempty"`
	ConcurrencyLimit  *int32         `json:"concurrencyLimit,omitempty"`
	CollisionStrategy string         `json:"collisionStrategy,omitempty"`
	Paused            bool           `json:"paused,omitempty"`
	// RunOverrides names job variables a run request may set for this
	// deployment besides its pool's. Render writes the effective list
	// (RunOverrides of pool and deployment), which reads back the same.
	RunOverrides []string `json:"runOverrides,omitempty"`
	// Starts names the deployments (flow/name) this deployment's runs may
	// start as their children (`kubectl flows run other/deploy` from inside
	// the pod). Render gives its Jobs a ServiceAccount of their own,
	// StarterServiceAccountName, allowed to create and follow runs, and the
	// reconciler accepts a run naming one of its runs as parent only when
	// the child's deployment is listed here.
	Starts []string `json:"starts,omitempty"`
}

// MayStart reports whether d's runs may start runs of deployment full.
func (d *Deployment) MayStart(full string) bool {
	for _, s := range d.Starts {
		if s == full {
			return true
		}
	}
	return false
}

// FullName is the deployment's name as users type it: flow/name.
func (d *Deployment) FullName() string { return d.Flow + "/" + d.Name }

// Schedule fires runs of a deployment, by cron (in Timezone) or every
// Interval.
type Schedule struct {
	Cron     string           `json:"cron,omitempty"`
	Timezone string           `json:"timezone,omitempty"`
	Interval *metav1.Duration `json:"interval,omitempty"`
	// Parameters override the deployment's for runs this schedule fires.
	Parameters map[string]any `json:"parameters,omitempty"`
	Active     *bool          `json:"active,omitempty"`
}

// Pool returns the named pool, or nil.
func (p *Project) Pool(name string) *Pool {
	for i := range p.Pools {
		if p.Pools[i].Name == name {
			return &p.Pools[i]
		}
	}
	return nil
}

// Queue returns the named queue of the pool, or nil.
func (p *Pool) Queue(name string) *Queue {
	for i := range p.Queues {
		if p.Queues[i].Name == name {
			return &p.Queues[i]
		}
	}
	return nil
}
