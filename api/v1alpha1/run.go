package v1alpha1

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/internal/yamlcodec"
	"github.com/kubectl-flows/kubectl-flows/internal/yamljson"
)

// A run request is a ConfigMap labelled LabelRun=true whose data key
// KeyRun holds a RunRequest. The reconciler owns KeyStatus, the state
// label and the pool/queue/deployment labels. Anyone may create one:
// `kubectl flows run`, the reconciler's schedules, or a plain kubectl apply.

// Bounds on a run request. Anyone who may create a ConfigMap may create a
// run, so its size is bounded where it is decoded: the reconciler caches
// runs and copies parts of them into Jobs and statuses, and a write the API
// server refuses for size would be retried for ever.
const (
	// MaxRunDataBytes bounds run.yaml. A cache transform may drop a longer
	// run.yaml: DecodeRunRequest and CheckRunObject refuse it anyway.
	MaxRunDataBytes = 64 << 10
	// MaxRunParametersBytes bounds a run's parameters as JSON: they are
	// copied into the Job (FLOWS_PARAMETERS and its admission annotation)
	// and the run's status, which must stay under the API server's 256 KiB
	// for all of an object's annotations and 1 MiB per object, together
	// with the deployment's defaults and the job variables.
	MaxRunParametersBytes = 32 << 10
	// MaxRunJobVariablesBytes bounds a run's job variables as JSON.
	MaxRunJobVariablesBytes = 32 << 10
	// MaxRunTags bounds the tags a run adds to its deployment's.
	MaxRunTags = 32
	// MaxRunNameLength bounds a run's name (metadata.name). Every name
	// kubectl flows and the schedules make fits (flow and name are at most
	// 63 each, a tick adds 22); a longer one is cut and hashed into its Job
	// name all the same, but buys nothing and makes every message about it
	// long.
	MaxRunNameLength = 160
	// maxValueKey bounds a parameter's or job variable's name.
	maxValueKey = 253
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
	// Parent is the run that started this one, by name and UID (as a
	// cancel request names its run): `kubectl flows run` sets it inside a
	// run's pod, from FLOWS_RUN_NAME. The reconciler accepts it only if
	// that run exists with that UID, has not ended, and its deployment's
	// starts lists this run's deployment; cancelling the parent cancels
	// this run.
	Parent *RunRef `json:"parent,omitempty"`
	// Timeout is how long the run may run, counted from its pod's start,
	// over its deployment's; only when runOverrides lists timeout.
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// RunRef names a run by name and UID: a run deleted and created again
// under the same name is another run.
type RunRef struct {
	Run    string    `json:"run"`
	RunUID types.UID `json:"runUID"`
}

// Is reports whether ref names the run cm.
func (ref *RunRef) Is(cm *corev1.ConfigMap) bool {
	return ref != nil && ref.Run == cm.Name && ref.RunUID == cm.UID
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

// FinalStates are the states a run ends in.
var FinalStates = []RunState{StateCompleted, StateFailed, StateCrashed, StateCancelled, StateRejected}

// Final reports whether a run in this state is over.
func (s RunState) Final() bool {
	return slices.Contains(FinalStates, s)
}

// EndedLabelValue is a run's end time as the value of LabelEnded: Unix
// seconds, which a label selector compares as a number
// (kubectl-flows.dev/ended>1764720000).
func EndedLabelValue(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

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
	// Timeout is how long the run may run, counted from its pod's start,
	// and PendingTimeout how long its pod may take to start
	// (pod_watch_timeout_seconds); each unset when there is none.
	Timeout        *metav1.Duration `json:"timeout,omitempty"`
	PendingTimeout *metav1.Duration `json:"pendingTimeout,omitempty"`
	// Retries is the run's retry policy, as its Job carries it; the rest
	// is set only for a run that has one. Attempt is its attempt in
	// flight or next (from 1) of MaxAttempts; RetryTime is when a run
	// awaiting its retry (Scheduled, reason Retrying) may start the next;
	// Attempts are its ended attempts, oldest first.
	Retries     *RetryPolicy    `json:"retries,omitempty"`
	Attempt     int32           `json:"attempt,omitempty"`
	MaxAttempts int32           `json:"maxAttempts,omitempty"`
	RetryTime   *metav1.Time    `json:"retryTime,omitempty"`
	Attempts    []AttemptStatus `json:"attempts,omitempty"`
	// Notifications are the notifications owed for the run's events and
	// what became of them (see NotificationRecord).
	Notifications []NotificationRecord `json:"notifications,omitempty"`
}

// DecodeRunRequest parses a run request strictly: an unknown key is an
// error, so a typo is not silently ignored. It refuses, once and for good,
// what the API server would refuse when the reconciler writes it (a
// deployment that is not flow/name of DNS labels, a tag that is not a
// label value) and what would cost too much (see the Max constants), so
// such a run is Rejected instead of retried. No message quotes more than
// MaxEcho bytes of the request.
func DecodeRunRequest(data string) (*RunRequest, error) {
	if strings.TrimSpace(data) == "" {
		return nil, fmt.Errorf("data key %s is missing or empty", KeyRun)
	}
	if len(data) > MaxRunDataBytes {
		return nil, fmt.Errorf("%s is %d bytes; a run request may hold at most %d (64 KiB)", KeyRun, len(data), MaxRunDataBytes)
	}
	js, err := yamljson.ToJSONStrict([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %s", KeyRun, Truncate(err.Error(), 2*MaxEcho))
	}
	r := &RunRequest{}
	strict, err := kjson.UnmarshalStrict(js, r, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", KeyRun, Truncate(err.Error(), 2*MaxEcho))
	}
	if len(strict) > 0 {
		const shown = 3
		msgs := make([]string, 0, shown+1)
		for i, e := range strict {
			if i == shown {
				msgs = append(msgs, fmt.Sprintf("and %d more", len(strict)-shown))
				break
			}
			msgs = append(msgs, Truncate(e.Error(), MaxEcho))
		}
		return nil, fmt.Errorf("%s: %s (known keys: deployment, parameters, jobVariables, tags, scheduledTime, parent, timeout)", KeyRun, strings.Join(msgs, "; "))
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyRun, err)
	}
	return r, nil
}

// check applies the rules DecodeRunRequest documents to a parsed request;
// `kubectl flows run` calls it (through Check) before it creates one.
func (r *RunRequest) check() error {
	if r.Deployment == "" {
		return errors.New("deployment is required (flow/name)")
	}
	if err := CheckDeploymentName(r.Deployment); err != nil {
		return err
	}
	if len(r.Tags) > MaxRunTags {
		return fmt.Errorf("tags: %d given; a run may add at most %d", len(r.Tags), MaxRunTags)
	}
	seen := make(map[string]bool, len(r.Tags))
	for i, t := range r.Tags {
		if msg := TagProblem(t); msg != "" {
			return fmt.Errorf("tags[%d] %s: %s", i, QuoteInput(t), msg)
		}
		if seen[t] {
			return fmt.Errorf("tags[%d] %s: given more than once", i, QuoteInput(t))
		}
		seen[t] = true
	}
	if p := r.Parent; p != nil {
		if errs := validation.IsDNS1123Subdomain(p.Run); len(errs) > 0 || len(p.Run) > MaxRunNameLength {
			return fmt.Errorf("parent.run %s is not a run's name", QuoteInput(p.Run))
		}
		if p.RunUID == "" || len(p.RunUID) > 128 {
			return errors.New("parent.runUID is required: the metadata.uid of the parent run")
		}
	}
	if err := checkValues("parameters", r.Parameters, MaxRunParametersBytes, "they are copied into the Job's annotations"); err != nil {
		return err
	}
	return checkValues("jobVariables", r.JobVariables, MaxRunJobVariablesBytes, "they are copied into the Job's annotations")
}

// Check applies DecodeRunRequest's rules to a request built in code, as
// `kubectl flows run` builds one, so the CLI refuses what the reconciler
// would reject, with the same message less its "run.yaml: " prefix.
func (r *RunRequest) Check() error {
	if err := r.check(); err != nil {
		return err
	}
	data, err := EncodeRunRequest(r)
	if err != nil {
		return err
	}
	if len(data) > MaxRunDataBytes {
		return fmt.Errorf("%s would be %d bytes; a run request may hold at most %d (64 KiB)", KeyRun, len(data), MaxRunDataBytes)
	}
	return nil
}

// checkValues bounds a map of the request by its JSON size and the length
// of its keys (keys are quoted in schema errors).
func checkValues(what string, m map[string]any, max int, why string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if len(k) > maxValueKey {
			return fmt.Errorf("%s: key %s is %d bytes; keys may be at most %d", what, QuoteInput(k), len(k), maxValueKey)
		}
	}
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("%s: %s", what, Truncate(err.Error(), 2*MaxEcho))
	}
	if len(b) > max {
		return fmt.Errorf("%s are %d bytes as JSON; a run may give at most %d (%d KiB): %s", what, len(b), max, max>>10, why)
	}
	return nil
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
	b, err := yamlcodec.Marshal(s)
	return string(b), err
}

// CheckRunObject refuses a run ConfigMap the reconciler could never carry
// through, whatever its run.yaml says: one marked immutable (its status
// could never be written, and every try would fail again), a name longer
// than MaxRunNameLength, data keys other than run.yaml and status.yaml
// (binaryData included: nothing reads them, and they only cost memory), or
// a run.yaml over MaxRunDataBytes. It reads only the object's metadata and
// the sizes of its data, so a cache transform may call it before dropping
// the data.
func CheckRunObject(cm *corev1.ConfigMap) error {
	if cm.Immutable != nil && *cm.Immutable {
		return errors.New("the run ConfigMap is immutable, so its status could never be written; create it without immutable: true")
	}
	if len(cm.Name) > MaxRunNameLength {
		return fmt.Errorf("the run's name is %d characters; a run's name may have at most %d", len(cm.Name), MaxRunNameLength)
	}
	var extra []string
	for k := range cm.Data {
		if k != KeyRun && k != KeyStatus {
			extra = append(extra, k)
		}
	}
	for k := range cm.BinaryData {
		extra = append(extra, k)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("unexpected data key %s (%d in all); a run ConfigMap holds only %s (and the reconciler's %s)", QuoteInput(extra[0]), len(extra), KeyRun, KeyStatus)
	}
	if n := len(cm.Data[KeyRun]); n > MaxRunDataBytes {
		return fmt.Errorf("%s is %d bytes; a run request may hold at most %d (64 KiB)", KeyRun, n, MaxRunDataBytes)
	}
	return nil
}

// CheckDeploymentLabel refuses a run request whose LabelDeployment names
// another deployment than its run.yaml. The admission policy holds a
// deployment's starter ServiceAccount to its starts by this label (CEL
// cannot read run.yaml), so a label that disagrees would carry a run of
// any deployment past it. A request without the label passes: NewRunRequest
// sets it, but a ConfigMap written by hand need not.
func CheckDeploymentLabel(labels map[string]string, req *RunRequest) error {
	got, ok := labels[LabelDeployment]
	if !ok {
		return nil
	}
	flow, name, _ := SplitDeployment(req.Deployment)
	if want := DeploymentLabelValue(flow, name); got != want {
		return fmt.Errorf("label %s is %s but %s names deployment %s: the label must be %s, or left out",
			LabelDeployment, QuoteInput(got), KeyRun, QuoteInput(req.Deployment), QuoteInput(want))
	}
	return nil
}

// NewRunRequest builds the ConfigMap that asks for the run req in
// namespace ns: the one constructor of a run request, used by `kubectl
// flows run`, the dashboard, runs started from a run's pod, and the
// schedules. An empty name has the API server generate one from the
// deployment (flow-name-xxxxx). It does not Check req: callers that take
// the request from a person check it first, to refuse it before it is
// created.
func NewRunRequest(ns, name string, req *RunRequest) (*corev1.ConfigMap, error) {
	flow, dname, ok := SplitDeployment(req.Deployment)
	if !ok {
		return nil, CheckDeploymentName(req.Deployment)
	}
	data, err := EncodeRunRequest(req)
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: ns,
			Labels: map[string]string{
				LabelRun:        "true",
				LabelFlow:       flow,
				LabelDeployment: DeploymentLabelValue(flow, dname),
			},
		},
		Data: map[string]string{KeyRun: data},
	}
	if name == "" {
		cm.GenerateName = RunNamePrefix(flow, dname)
	}
	return cm, nil
}

// FillAdmission completes a run's status from its Job's metadata, as the
// first status written after the Job was created holds it: the Job's name,
// the slots it holds (LabelPool, LabelQueue, AnnotationTags) and its
// AdmissionRecord. The reconciler writes that status from it; a client
// that finds a run's Job before that write shows the run from it.
func (st *RunStatus) FillAdmission(job metav1.Object) {
	labels, annotations := job.GetLabels(), job.GetAnnotations()
	st.JobName, st.RetryTime = job.GetName(), nil
	st.Pool, st.Queue, st.Tags = labels[LabelPool], labels[LabelQueue], nil
	if t := annotations[AnnotationTags]; t != "" {
		st.Tags = strings.Split(t, ",")
	}
	var rec AdmissionRecord
	if json.Unmarshal([]byte(annotations[AnnotationAdmission]), &rec) == nil {
		st.ScheduledTime, st.PendingTime = &rec.ScheduledTime, &metav1.Time{Time: rec.AdmittedAt}
		st.Parameters, st.JobVariables = rec.Parameters, rec.JobVariables
	} else {
		created := job.GetCreationTimestamp()
		st.PendingTime = &created
	}
}

// ReasonDispatched is a Pending run's reason while its pod has not started
// and is not stuck.
const ReasonDispatched = "Dispatched"

// DispatchedMessage is a Pending run's message while its pod has not
// started and is not stuck.
func DispatchedMessage(job string) string {
	return "Job " + job + " created; waiting for its pod to start"
}

// AdmissionRecord is what AnnotationAdmission on a run's Job holds.
type AdmissionRecord struct {
	ScheduledTime metav1.Time `json:"scheduledTime"`
	// AdmittedAt is a time.Time, not a metav1.Time, to keep its fraction
	// of a second (either reads the other's): a tag's start rate is
	// replayed from it.
	AdmittedAt   time.Time      `json:"admittedAt"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	JobVariables map[string]any `json:"jobVariables,omitempty"`
}
