package v1alpha1

import (
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/internal/yamlcodec"
)

// The config documents: what render writes into the config ConfigMaps
// (pool.yaml, deployment.yaml, limits.yaml) and the reconciler and clients
// read back. They are the entries of a project file (kind Project) as
// render resolved them, so the project file is written with these types
// too.

// Defaults render fills in, and the reconciler assumes where config says
// nothing.
const (
	// DefaultQueue is the queue every pool has unless it declares one.
	DefaultQueue = "default"
	// DefaultQueuePriority matches Prefect's default work queue priority.
	DefaultQueuePriority = 1
)

// Collision strategies for a deployment at its concurrency limit, named as
// Prefect names them.
const (
	CollisionEnqueue   = "Enqueue"
	CollisionCancelNew = "CancelNew"
)

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
	// Retries is the retry policy of the pool's deployments that set none.
	Retries *RetryPolicy `json:"retries,omitempty"`
	// Timeout is how long the runs of the pool's deployments that set none
	// may run, counted from the pod's start.
	Timeout *metav1.Duration `json:"timeout,omitempty"`
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
	// Rate caps how often runs carrying Tag start, on average (ParseRate:
	// "10/m"), on top of Limit; Burst is how many may start at once within
	// it (1 when unset).
	Rate  string `json:"rate,omitempty"`
	Burst *int32 `json:"burst,omitempty"`
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
	// Retries is the deployment's retry policy; unset is its pool's.
	Retries *RetryPolicy `json:"retries,omitempty"`
	// Timeout is how long its runs may run, counted from the pod's start
	// (the pending phase has its own deadline, pod_watch_timeout_seconds);
	// unset is its pool's.
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Notifications are this deployment's targets besides the project's.
	// Render writes the effective list (the project's, then these), so
	// the reconciler reads one list per deployment.
	Notifications []Notification `json:"notifications,omitempty"`
	// SLA bounds its runs' lateness and duration; a breach fires the SLA
	// event to the targets that list it.
	SLA *SLA `json:"sla,omitempty"`
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
	// Parameters override the deployment's, key by key, for runs this
	// schedule fires; the deployment's parameterSchema checks the result.
	Parameters map[string]any `json:"parameters,omitempty"`
	// Active false keeps the schedule without firing it (unset is true).
	Active *bool `json:"active,omitempty"`
	// CatchUp is what the schedule fires for ticks missed while no
	// reconciler ran: CatchUpLatest (unset), CatchUpNone or CatchUpAll.
	CatchUp string `json:"catchup,omitempty"`
	// MaxCatchup bounds the missed ticks CatchUpAll fires
	// (DefaultMaxCatchup when unset).
	MaxCatchup *int32 `json:"maxCatchup,omitempty"`
}

// Catch-up policies: which of the ticks that passed while no reconciler
// ran a schedule fires when one runs again.
const (
	// CatchUpLatest fires the latest missed tick only (the default).
	CatchUpLatest = "Latest"
	// CatchUpNone fires no missed tick: only a tick found on time.
	CatchUpNone = "None"
	// CatchUpAll fires every missed tick, oldest first, each with its own
	// scheduled time, at most MaxCatchup of them (the latest).
	CatchUpAll = "All"
)

const (
	// DefaultMaxCatchup bounds CatchUpAll when maxCatchup is unset.
	DefaultMaxCatchup = 10
	// MaxMaxCatchup is the largest maxCatchup allowed: a backlog beyond it
	// is the flood of late runs catch-up exists to avoid.
	MaxMaxCatchup = 100
)

// IsActive reports whether the schedule fires at all (Prefect's active:
// false turns one off without removing it). Whether its deployment is
// paused is the deployment's matter.
func (s Schedule) IsActive() bool { return s.Active == nil || *s.Active }

// CatchUpPolicy is the schedule's catch-up policy, CatchUpLatest when
// unset.
func (s Schedule) CatchUpPolicy() string {
	if s.CatchUp == "" {
		return CatchUpLatest
	}
	return s.CatchUp
}

// MaxCatchupOrDefault is how many missed ticks CatchUpAll fires at most.
func (s Schedule) MaxCatchupOrDefault() int32 {
	if s.MaxCatchup != nil {
		return *s.MaxCatchup
	}
	return DefaultMaxCatchup
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

// EncodePool writes a pool's pool.yaml. Its base job template is not
// part of it: render stores the template, parsed, beside it under
// KeyJobTemplate.
func EncodePool(p *Pool) (string, error) {
	stored := *p
	stored.BaseJobTemplate = nil
	b, err := yamlcodec.Marshal(stored)
	return string(b), err
}

// EncodeDeployment writes a deployment's deployment.yaml.
func EncodeDeployment(d *Deployment) (string, error) {
	b, err := yamlcodec.Marshal(d)
	return string(b), err
}

// EncodeLimits writes limits.yaml, sorted by tag, [] for none.
func EncodeLimits(limits []TagLimit) (string, error) {
	sorted := append([]TagLimit{}, limits...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Tag < sorted[j].Tag })
	b, err := yamlcodec.Marshal(sorted)
	return string(b), err
}

// The decoders are strict (an unknown field is an error), and they are
// the one reader of these documents: the CLI, review and the reconciler
// all decode through them, so a ConfigMap one of them accepts, all do.
// Each error names the ConfigMap and the key.

// DecodePool reads the pool.yaml of a pool's config ConfigMap.
func DecodePool(cm *corev1.ConfigMap) (*Pool, error) {
	p := &Pool{}
	return p, decodeConfig(cm, KeyPool, p)
}

// DecodeDeployment reads the deployment.yaml of a deployment's config
// ConfigMap.
func DecodeDeployment(cm *corev1.ConfigMap) (*Deployment, error) {
	d := &Deployment{}
	return d, decodeConfig(cm, KeyDeployment, d)
}

// DecodeLimits reads the limits.yaml of the limits ConfigMap.
func DecodeLimits(cm *corev1.ConfigMap) ([]TagLimit, error) {
	var limits []TagLimit
	if err := decodeConfig(cm, KeyLimits, &limits); err != nil {
		return nil, err
	}
	for _, l := range limits {
		if _, err := ParseRate(l.Rate); l.Rate != "" && err != nil {
			return nil, fmt.Errorf("ConfigMap %s: %s: tag %s: rate: %v", cm.Name, KeyLimits, QuoteInput(l.Tag), err)
		}
		if l.Burst != nil && (*l.Burst < 1 || l.Rate == "") {
			return nil, fmt.Errorf("ConfigMap %s: %s: tag %s: burst %d needs a rate and must be at least 1", cm.Name, KeyLimits, QuoteInput(l.Tag), *l.Burst)
		}
	}
	return limits, nil
}

func decodeConfig(cm *corev1.ConfigMap, key string, into any) error {
	if err := yaml.UnmarshalStrict([]byte(cm.Data[key]), into); err != nil {
		return fmt.Errorf("ConfigMap %s: %s: %v", cm.Name, key, err)
	}
	return nil
}
