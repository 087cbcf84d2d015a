package dashboard

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/kubectl-flows/kubectl-flows/client"
)

// Backend is the cluster as the dashboard sees it. ClusterBackend
// implements it over the client package's watches and functions (the
// views `kubectl flows get/describe` print, submitting and cancelling
// runs), so the pages show exactly what get and describe show and their
// buttons do exactly what `kubectl flows run/cancel` do, with the user's
// own kubeconfig.
type Backend interface {
	// Snapshot is the project and its runs as last seen by the watches.
	Snapshot() *Snapshot
	// RunPage is one run in detail, or an error wrapping ErrNotFound.
	RunPage(ctx context.Context, name string) (*RunPage, error)
	// Submit creates a run of deployment with parameters, validated as
	// `kubectl flows run` validates them (a *client.InvalidError when they
	// fail), and returns its name.
	Submit(ctx context.Context, deployment string, params map[string]any) (string, error)
	// Cancel requests a run's cancellation, as `kubectl flows cancel`.
	Cancel(ctx context.Context, run string) error
	// StreamLog writes the run's pod log, tail then follow, until ctx ends.
	StreamLog(ctx context.Context, run string, w io.Writer) error
	// Permissions says what the user may do, to show only those buttons.
	Permissions(ctx context.Context) Permissions
}

// ErrNotFound is wrapped by errors for a run or deployment that does not
// exist (as is a *client.NotFoundError).
var ErrNotFound = errors.New("not found")

// Permissions are the actions the user's kubeconfig allows.
type Permissions struct {
	Submit bool // create runs
	Cancel bool // cancel runs
}

// Snapshot is the state every page but the run page is drawn from: the
// client's views of a client.Snapshot.
type Snapshot struct {
	Namespace   string
	Now         time.Time
	Runs        []client.RunView // oldest first
	Deployments []client.DeploymentView
	Limits      []client.LimitView
	// Errors are config ConfigMaps that could not be read.
	Errors []string
}

// RunPage is one run in detail: client.RunDetails as the page shows it.
type RunPage struct {
	Run          client.RunView
	History      []StateTime
	ParamsFrom   string // "resolved" or "requested"
	Parameters   string // YAML
	JobVariables string // YAML
	Parameterize map[string]any
	// Cancel says how the run was asked to stop ("" when it was not).
	Cancel string
	// Parent is the run that started this one ("" for none), and
	// ParentState its state or "not found"; Children the runs it started.
	Parent, ParentState string
	Children            []client.RunView
	Job                 *Job
	JobError            string
	Pods                []Pod
	PodsError           string
	Events              []Event
	EventsError         string
}

// StateTime is a step of a run's life.
type StateTime struct {
	State string
	Time  time.Time
}

// Job is a run's Job.
type Job struct{ Name, Status string }

// Pod is a pod of a run's Job.
type Pod struct{ Name, Phase, Node, Reason, Age string }

// Event is a Kubernetes Event of the run, its Job or pods.
type Event struct{ Type, Reason, Age, From, Object, Message string }
