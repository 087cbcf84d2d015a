package client

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

// RunView is one run as every client shows it: a row of `get runs` and
// its object (-o json|yaml), `describe run`, and the dashboard's rows and
// run page all print this one value, built by ViewRun, so they cannot
// disagree on its state, tags, queue or cancel status.
type RunView struct {
	Name, Namespace string
	Labels          map[string]string
	// Deployment is flow/name, "" when the request names none.
	Deployment string
	// State is the state shown: the stored one, Late for a Scheduled run
	// more than project.LateAfter past its time.
	State v1alpha1.RunState
	Final bool
	// Retry says where a run awaiting its next attempt is ("Retrying
	// (attempt 2 of 3, in 40s: Evicted)"), "" for any other run.
	Retry string
	// Attempts are its ended attempts, for a run with a retry policy.
	Attempts []v1alpha1.AttemptStatus
	// Cancel says how a run that has not ended was asked to stop; nil
	// when it was not.
	Cancel *CancelAsked
	// Pool and Queue (pool/queue) are those the run holds, or will use.
	Pool, Queue string
	// Tags are those the run counts against: fixed at admission, else its
	// deployment's and its request's.
	Tags            []string
	Reason, Message string
	JobName         string // the status's; "" before the Job is made
	Parent          string // the run that started it, "" for none
	Created         time.Time
	Scheduled       time.Time
	// Pending, Started and Ended are zero until the run gets there.
	Pending, Started, Ended time.Time
	// Age and Duration (running time: start to end, or to now) are
	// human-readable; Seconds is the running time for charts.
	Age, Duration string
	Seconds       float64
	// Wait is what the reconciler's dispatch pass would decide for a
	// waiting run now (Snapshot.Waits); nil for a run that does not wait
	// (or whose cancel was asked for).
	Wait *planner.Waiting
	// WaitingOn says in a few words what a waiting run waits on ("tag
	// db", "paused queue p/q", "not yet due (in 5m)"), and Position its
	// place among the runs waiting for the same limit, from 1.
	WaitingOn string
	Position  int
	// Info is the run as read: its request and stored status.
	Info *RunInfo
}

// ViewRun builds a run's view from the snapshot.
func (s *Snapshot) ViewRun(r *RunInfo) RunView {
	st := r.Status
	v := RunView{
		Name: r.ConfigMap.Name, Namespace: r.ConfigMap.Namespace, Labels: r.ConfigMap.Labels,
		Deployment: r.Deployment(), State: r.DisplayState(s.Now), Final: r.State().Final(),
		Retry: v1alpha1.RetryText(st, s.Now), Attempts: st.Attempts,
		Cancel: cancelAsked(r, s.Cancels), Tags: r.Tags(s.Installed),
		Reason: st.Reason, Message: st.Message, JobName: st.JobName, Parent: parentName(r),
		Created: r.ConfigMap.CreationTimestamp.Time, Scheduled: r.ScheduledTime(),
		Age: Age(s.Now, r.ConfigMap.CreationTimestamp.Time), Info: r,
	}
	pool, queue := r.PoolQueue(s.Installed)
	if pool != "" {
		v.Pool, v.Queue = pool, pool+"/"+queue
	}
	if st.PendingTime != nil {
		v.Pending = st.PendingTime.Time
	}
	if st.StartTime != nil {
		v.Started = st.StartTime.Time
	}
	if ran, ok := r.Ran(s.Now); ok {
		v.Seconds, v.Duration = ran.Seconds(), duration.HumanDuration(ran)
	}
	if st.EndTime != nil {
		v.Ended = st.EndTime.Time
	}
	if w, ok := s.Waits[v.Name]; ok {
		v.Wait, v.Position = &w, w.Position
		v.WaitingOn = waitingOn(w, s.Now)
	}
	return v
}

// waitingOn says in a few words what a waiting run waits on.
func waitingOn(w planner.Waiting, now time.Time) string {
	switch w.Reason {
	case "WaitingForSlot":
		return w.On
	case "Paused":
		return "paused " + w.On
	case "Scheduled":
		return "not yet due (in " + duration.HumanDuration(w.Due.Sub(now)) + ")"
	case "WaitingForRate":
		return "rate of " + w.On + " (next start in " + duration.HumanDuration(w.Due.Sub(now)) + ")"
	case "WaitingForConfig":
		return "config held back"
	case planner.WaitStarts:
		return "nothing: starts next"
	case planner.WaitRejected:
		return "nothing: will be rejected"
	case planner.WaitCancelNew:
		return w.On + " full (CancelNew)"
	}
	return w.Reason
}

// WaitText says what a waiting run waits on, and where it stands in line:
// "waiting on tag db, 3rd in line"; "" for a run that does not wait.
func (v *RunView) WaitText() string {
	switch {
	case v.Wait == nil:
		return ""
	case v.Position > 0:
		return fmt.Sprintf("waiting on %s, %s in line", v.WaitingOn, Ordinal(v.Position))
	case v.Wait.Reason == "WaitingForConfig" || v.Wait.Reason == planner.WaitRejected:
		return "waiting on " + v.WaitingOn + ": " + v.Wait.Message
	}
	return "waiting on " + v.WaitingOn
}

// Ordinal is 1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st.
func Ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprint(n) + suffix
}

// Ran is how long the run ran: start to end, or to now; false before it
// started.
func (r *RunInfo) Ran(now time.Time) (time.Duration, bool) {
	st := r.Status
	if st.StartTime == nil {
		return 0, false
	}
	end := now
	if st.EndTime != nil {
		end = st.EndTime.Time
	}
	return max(end.Sub(st.StartTime.Time), 0), true
}

// Values are the run's parameters and job variables as the reconciler
// resolved them, else as requested; from says which ("resolved",
// "requested").
func (r *RunInfo) Values() (params, jobVars map[string]any, from string) {
	st := r.Status
	if st.Parameters == nil && st.JobVariables == nil && r.Request != nil {
		return r.Request.Parameters, r.Request.JobVariables, "requested"
	}
	return st.Parameters, st.JobVariables, "resolved"
}

// YAMLText is a value as YAML for people, "" for nothing or an empty map.
func YAMLText(v any) string {
	if m, ok := v.(map[string]any); v == nil || ok && len(m) == 0 {
		return ""
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ViewRuns are the views of every run, oldest first.
func (s *Snapshot) ViewRuns() []RunView {
	out := make([]RunView, len(s.Runs))
	for i, r := range s.Runs {
		out[i] = s.ViewRun(r)
	}
	return out
}

// StateText is the state get and describe show: where a run awaiting its
// retry is, else its state; with the cancel status: "Running (cancel
// requested)".
func (v *RunView) StateText() string {
	s := string(v.State)
	if v.Retry != "" {
		s = v.Retry
	}
	if v.Cancel != nil {
		s += " (cancel requested)"
	}
	return s
}

// AttemptsText lists a run's ended attempts with their outcome:
// "1:Evicted 2:Completed".
func (v *RunView) AttemptsText() string {
	parts := make([]string, len(v.Attempts))
	for i, a := range v.Attempts {
		parts[i] = fmt.Sprintf("%d:%s", a.Attempt, a.Outcome)
	}
	return strings.Join(parts, " ")
}

// CancelText says how the run was asked to stop, or "".
func (v *RunView) CancelText(now time.Time) string {
	switch c := v.Cancel; {
	case c == nil:
		return ""
	case c.Annotation != nil:
		return fmt.Sprintf("requested by annotation %s=%s", v1alpha1.AnnotationCancel, *c.Annotation)
	default:
		return fmt.Sprintf("requested %s by cancel request %s", TimeText(c.Request.CreationTimestamp.Time, now), c.Request.Name)
	}
}

// parentName is the run that started r, as its request says ("" for
// none); the reconciler rejects a run whose parent it cannot accept.
func parentName(r *RunInfo) string {
	if r.Request == nil || r.Request.Parent == nil {
		return ""
	}
	return r.Request.Parent.Run
}

// Family is a run's parent and children (runs started from inside it).
type Family struct {
	Parent *v1alpha1.RunRef
	// ParentState is the parent's state, or "not found".
	ParentState string
	Children    []RunView // oldest first
}

// Family finds r's parent and children among the snapshot's runs. A
// parent is matched by name and UID, as the reconciler matches it.
func (s *Snapshot) Family(r *RunInfo) Family {
	var fam Family
	for _, c := range s.Runs { // oldest first
		if c.Request != nil && c.Request.Parent.Is(r.ConfigMap) {
			fam.Children = append(fam.Children, s.ViewRun(c))
		}
	}
	if r.Request == nil || r.Request.Parent == nil {
		return fam
	}
	fam.Parent, fam.ParentState = r.Request.Parent, "not found"
	for _, p := range s.Runs {
		if r.Request.Parent.Is(p.ConfigMap) {
			fam.ParentState = string(p.DisplayState(s.Now))
		}
	}
	return fam
}

// Age is how long ago t was, as kubectl shows ages; "<unknown>" for a
// zero t.
func Age(now, t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// TimeText is t in UTC with its age, "<none>" for a zero t.
func TimeText(t, now time.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), Age(now, t))
}
