package dashboard

import (
	"context"
	"errors"
	"io"
	"time"
)

// Backend is the cluster as the dashboard sees it. The plugin implements
// it over its watched caches and the functions its commands use (the read
// model, submitting and cancelling runs), so the pages show exactly what
// `kubectl flows get/describe` show and their buttons do exactly what
// `kubectl flows run/cancel` do, with the user's own kubeconfig.
type Backend interface {
	// Snapshot is the project and its runs as last seen by the watches.
	Snapshot() *Snapshot
	// RunPage is one run in detail, or an error wrapping ErrNotFound.
	RunPage(ctx context.Context, name string) (*RunPage, error)
	// Submit creates a run of deployment with parameters, validated as
	// `kubectl flows run` validates them (an *InvalidError when they fail),
	// and returns its name.
	Submit(ctx context.Context, deployment string, params map[string]any) (string, error)
	// Cancel requests a run's cancellation, as `kubectl flows cancel`.
	Cancel(ctx context.Context, run string) error
	// StreamLog writes the run's pod log, tail then follow, until ctx ends.
	StreamLog(ctx context.Context, run string, w io.Writer) error
	// Permissions says what the user may do, to show only those buttons.
	Permissions(ctx context.Context) Permissions
}

// ErrNotFound is wrapped by errors for a run or deployment that does not
// exist.
var ErrNotFound = errors.New("not found")

// InvalidError is a request the user can fix: parameters failing the
// schema, a run that already ended.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Permissions are the actions the user's kubeconfig allows.
type Permissions struct {
	Submit bool // create runs
	Cancel bool // cancel runs
}

// Snapshot is the state every page but the run page is drawn from.
type Snapshot struct {
	Namespace   string
	Now         time.Time
	Runs        []Run // oldest first
	Deployments []Deployment
	Limits      []Limit
	// Errors are config ConfigMaps that could not be read.
	Errors []string
}

// Run is one run as the runs table shows it.
type Run struct {
	Name       string
	Deployment string
	State      string // the shown state: Late for a Scheduled run past its time
	Queue      string // pool/queue
	Tags       []string
	Reason     string
	Message    string
	Created    time.Time
	Scheduled  time.Time
	Start      time.Time // when it took its slot (Pending), zero before
	End        time.Time // zero while unfinished
	Age        string
	Duration   string
	Seconds    float64 // running time, for charts
	Final      bool
	// Blocking names the limit a waiting run waits for ("tag db"), as
	// the reconciler decides it, or "".
	Blocking string
	// Retry says where a run awaiting its next attempt is ("Retrying
	// (attempt 2 of 3, in 40s: Evicted)"), or "".
	Retry string
	// Attempts are its ended attempts, for a run with a retry policy.
	Attempts []Attempt
}

// Attempt is one ended attempt of a run.
type Attempt struct {
	N                       int32
	Job, Outcome, Reason    string
	Message, Started, Ended string
}

// Deployment is a deployment with its schedules and parameter form.
type Deployment struct {
	Name        string // flow/name
	Description string
	Pool, Queue string
	Tags        []string
	Paused      string // "no", "paused", "paused (kubectl)", "via pool", "via queue"
	Limit       string
	InUse       int32
	Waiting     int32
	Schedules   []Schedule
	// Parameters are the defaults; Schema the parameterSchema.
	Parameters map[string]any
	Schema     map[string]any
}

// Schedule is one schedule and its next fire times.
type Schedule struct {
	Text    string
	Active  bool
	CatchUp string // the catch-up policy, e.g. "All (max 5)"
	// Parameters are its runs' parameters (JSON) when it sets its own.
	Parameters string
	Next       []time.Time
}

// Limit is one concurrency limit: a pool, queue, deployment or tag.
type Limit struct {
	Kind    string // pool, queue, deployment, tag
	Name    string
	InUse   int32
	Limit   *int32 // nil: unlimited
	Waiting int32
	Paused  string
	// Rate is a tag's start rate ("10/m, burst 3") and NextStart when it
	// lets the next run start ("now", "in 4s"); empty without one.
	Rate, NextStart string
}

// RunPage is one run in detail.
type RunPage struct {
	Run          Run
	History      []StateTime
	Conditions   []Condition
	ParamsFrom   string // "resolved" or "requested"
	Parameters   string // YAML
	JobVariables string // YAML
	Parameterize map[string]any
	RequestError string
	CancelAsked  string
	// Parent is the run that started this one ("" for none), and
	// ParentState its state or "not found"; Children the runs it started.
	Parent, ParentState string
	Children            []Run
	Job                 *Job
	JobError            string
	Pods                []Pod
	PodsError           string
	Events              []Event
	EventsError         string
	LogTail             string
}

// StateTime is a step of a run's life.
type StateTime struct {
	State string
	Time  time.Time
}

// Condition is a status condition.
type Condition struct{ Type, Status, Reason, Message string }

// Job is a run's Job.
type Job struct{ Name, Status string }

// Pod is a pod of a run's Job.
type Pod struct{ Name, Phase, Node, Reason, Age string }

// Event is a Kubernetes Event of the run, its Job or pods.
type Event struct{ Type, Reason, Age, From, Object, Message string }
