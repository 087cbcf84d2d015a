package project

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// A run request is a ConfigMap labelled LabelRun=true whose data key
// KeyRun holds a RunRequest. The reconciler owns KeyStatus, the state
// label and the pool/queue/deployment labels. Anyone may create one:
// `kubectl flows run`, the reconciler's schedules, or a plain kubectl apply.
const (
	KeyRun    = "run.yaml"
	KeyStatus = "status.yaml"

	// AnnotationCancel asks for a run's cancellation (any value).
	AnnotationCancel = "kubectl-flows.dev/cancel-requested"
	// AnnotationPaused pauses a pool, queue or deployment until the next
	// render overrides it (`kubectl flows pause`).
	AnnotationPaused = "kubectl-flows.dev/paused"
	// AnnotationPausedQueues, on a pool's ConfigMap, lists paused queues
	// (comma-separated).
	AnnotationPausedQueues = "kubectl-flows.dev/paused-queues"
	// LabelSchedule marks runs a schedule created, by schedule identity.
	LabelSchedule = "kubectl-flows.dev/schedule"
)

// RunRequest is what a client asks for.
type RunRequest struct {
	// Deployment is flow/name of a rendered deployment.
	Deployment string `json:"deployment"`
	// Parameters are merged over the deployment's defaults.
	Parameters map[string]any `json:"parameters,omitempty"`
	// JobVariables are merged over the pool's and the deployment's.
	JobVariables map[string]any `json:"jobVariables,omitempty"`
	// Tags are added to the deployment's.
	Tags []string `json:"tags,omitempty"`
	// ScheduledTime is when the run may start; unset is now.
	ScheduledTime *metav1.Time `json:"scheduledTime,omitempty"`
}

// RunState is a run's place in its life.
type RunState string

// The states of a run, as Prefect names them.
const (
	StateScheduled  RunState = "Scheduled"
	StatePending    RunState = "Pending"
	StateRunning    RunState = "Running"
	StateCompleted  RunState = "Completed"
	StateFailed     RunState = "Failed"
	StateCrashed    RunState = "Crashed"
	StateCancelling RunState = "Cancelling"
	StateCancelled  RunState = "Cancelled"
	StateRejected   RunState = "Rejected"
	// StateLate is shown, never stored: a Scheduled run past its time.
	StateLate RunState = "Late"
)

// Final reports whether a run in this state is over.
func (s RunState) Final() bool {
	switch s {
	case StateCompleted, StateFailed, StateCrashed, StateCancelled, StateRejected:
		return true
	}
	return false
}

// HoldsSlot reports whether a run in this state holds its slots: from the
// moment its slot is taken until its Job is finished or gone.
func (s RunState) HoldsSlot() bool {
	return s == StatePending || s == StateRunning || s == StateCancelling
}

// RunStatus is what the reconciler writes back.
type RunStatus struct {
	State   RunState `json:"state"`
	Reason  string   `json:"reason,omitempty"`
	Message string   `json:"message,omitempty"`
	JobName string   `json:"jobName,omitempty"`
	// Pool, Queue and Tags are the slots the run holds, fixed when it is
	// admitted, so the slot count never depends on config read later.
	Pool          string       `json:"pool,omitempty"`
	Queue         string       `json:"queue,omitempty"`
	Tags          []string     `json:"tags,omitempty"`
	ScheduledTime *metav1.Time `json:"scheduledTime,omitempty"`
	// PendingTime is when the run took its slots.
	PendingTime *metav1.Time `json:"pendingTime,omitempty"`
	// StartTime is when a pod of its Job started running.
	StartTime *metav1.Time `json:"startTime,omitempty"`
	EndTime   *metav1.Time `json:"endTime,omitempty"`
	// Parameters and JobVariables are the resolved values the Job got.
	Parameters   map[string]any `json:"parameters,omitempty"`
	JobVariables map[string]any `json:"jobVariables,omitempty"`
	// LogTail is the end of the pod's log, for a Failed or Crashed run.
	LogTail    string             `json:"logTail,omitempty"`
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DecodeRunRequest parses a run request strictly: an unknown key is an
// error, so a typo is not silently ignored.
func DecodeRunRequest(data string) (*RunRequest, error) {
	if strings.TrimSpace(data) == "" {
		return nil, fmt.Errorf("data key %s is missing or empty", KeyRun)
	}
	js, err := yaml.YAMLToJSONStrict([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %v", KeyRun, err)
	}
	r := &RunRequest{}
	strict, err := kjson.UnmarshalStrict(js, r, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", KeyRun, err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s: %s (known keys: deployment, parameters, jobVariables, tags, scheduledTime)", KeyRun, strings.Join(msgs, "; "))
	}
	if r.Deployment == "" {
		return nil, fmt.Errorf("%s: deployment is required (flow/name)", KeyRun)
	}
	if _, _, ok := SplitDeployment(r.Deployment); !ok {
		return nil, fmt.Errorf("%s: deployment %q must be flow/name", KeyRun, r.Deployment)
	}
	return r, nil
}

// EncodeRunRequest writes a run request as YAML.
func EncodeRunRequest(r *RunRequest) (string, error) {
	b, err := yaml.Marshal(r)
	return string(b), err
}

// DecodeRunStatus parses the reconciler's status; it is lenient, being
// the reconciler's own output.
func DecodeRunStatus(data string) (*RunStatus, error) {
	s := &RunStatus{}
	if strings.TrimSpace(data) == "" {
		return s, nil
	}
	if err := yaml.Unmarshal([]byte(data), s); err != nil {
		return nil, fmt.Errorf("%s: %v", KeyStatus, err)
	}
	return s, nil
}

// EncodeRunStatus writes a status as YAML.
func EncodeRunStatus(s *RunStatus) (string, error) {
	b, err := MarshalYAML(s)
	return string(b), err
}

// SplitDeployment splits flow/name.
func SplitDeployment(full string) (flow, name string, ok bool) {
	flow, name, ok = strings.Cut(full, "/")
	return flow, name, ok && flow != "" && name != "" && !strings.Contains(name, "/")
}
