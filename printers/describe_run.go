package printers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/kubectl/pkg/describe"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/internal/podstatus"
)

// DescribeRun prints a run's description.
func DescribeRun(w describe.PrefixWriter, d *client.RunDetails, now time.Time) {
	printRunState(w, &d.View, d.Family, now)
	printRunValues(w, d.View.Info)
	if len(d.Children) > 0 {
		w.Write(0, "Children:\n")
		w.Write(1, "Name\tDeployment\tState\tAge\n")
		for _, c := range d.Children {
			w.Write(1, "%s\t%s\t%s\t%s\n", c.Name, orNone(c.Deployment), c.StateText(), c.Age)
		}
	}
	printRunJob(w, d.Objects, d.View.JobName, now)
	if tail := d.View.Info.Status.LogTail; tail != "" {
		block(w, 0, "Log Tail", tail)
	}
	printEvents(w, d.Objects.Events, d.Objects.EventsErr, now)
}

// printRunState prints who the run is and where it stands.
func printRunState(w describe.PrefixWriter, v *client.RunView, fam client.Family, now time.Time) {
	field(w, 0, "Name:", "%s", v.Name)
	field(w, 0, "Namespace:", "%s", v.Namespace)
	field(w, 0, "Deployment:", "%s", orNone(v.Deployment))
	field(w, 0, "State:", "%s", v.StateText())
	if v.Reason != "" {
		field(w, 0, "Reason:", "%s", v.Reason)
	}
	if v.Message != "" {
		field(w, 0, "Message:", "%s", v.Message)
	}
	if err := v.Info.RequestErr; err != nil {
		field(w, 0, "Request Error:", "%s", err)
	}
	if c := v.CancelText(now); c != "" {
		field(w, 0, "Cancel:", "%s", c)
	}
	if wait := v.WaitText(); wait != "" {
		field(w, 0, "Waiting On:", "%s", strings.TrimPrefix(wait, "waiting on "))
	}
	if v.Pool != "" {
		field(w, 0, "Pool:", "%s", v.Pool)
		field(w, 0, "Queue:", "%s", strings.TrimPrefix(v.Queue, v.Pool+"/"))
	}
	field(w, 0, "Tags:", "%s", orNone(strings.Join(v.Tags, ", ")))
	field(w, 0, "Created:", "%s", client.TimeText(v.Created, now))
	field(w, 0, "Scheduled:", "%s", client.TimeText(v.Scheduled, now))
	field(w, 0, "Pending:", "%s", client.TimeText(v.Pending, now))
	field(w, 0, "Started:", "%s", client.TimeText(v.Started, now))
	field(w, 0, "Ended:", "%s", client.TimeText(v.Ended, now))
	if v.Duration != "" {
		field(w, 0, "Duration:", "%s", v.Duration)
	}
	printRunPolicies(w, v, now)
	if fam.Parent != nil {
		field(w, 0, "Parent:", "%s (%s)", fam.Parent.Run, fam.ParentState)
	}
}

// printRunPolicies prints a run's deadlines and retry policy, with its
// attempts, as its Job carried them.
func printRunPolicies(w describe.PrefixWriter, v *client.RunView, now time.Time) {
	st := v.Info.Status
	deadline := func(d *metav1.Duration) string {
		if d == nil {
			return "none"
		}
		return d.Duration.String()
	}
	if st.Timeout != nil || st.PendingTimeout != nil {
		field(w, 0, "Timeout:", "%s from its pod's start; %s to start (pod_watch_timeout_seconds)", deadline(st.Timeout), deadline(st.PendingTimeout))
	}
	if st.Retries == nil && len(v.Attempts) == 0 {
		return
	}
	field(w, 0, "Retries:", "%s", st.Retries)
	if st.RetryTime != nil && st.AwaitingRetry() {
		field(w, 0, "Next Attempt:", "%d of %d, due %s", st.CurrentAttempt(), st.MaxAttempts, dueText(st.RetryTime.Time, now))
	}
	if len(v.Attempts) == 0 {
		field(w, 0, "Attempts:", "<none> ended")
		return
	}
	when := func(t *metav1.Time) string {
		if t == nil {
			return "-"
		}
		return client.Age(now, t.Time) + " ago"
	}
	w.Write(0, "Attempts:\n")
	w.Write(1, "Attempt\tJob\tOutcome\tReason\tExit\tStarted\tEnded\tMessage\n")
	for _, a := range v.Attempts {
		exit := "-"
		if a.ExitCode != nil {
			exit = fmt.Sprint(*a.ExitCode)
		}
		w.Write(1, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Attempt, a.JobName, a.Outcome, orNone(a.Reason), exit, when(a.StartTime), when(a.EndTime), v1alpha1.Truncate(a.Message, 120))
	}
}

// dueText is a time to come, or past.
func dueText(t, now time.Time) string {
	if t.After(now) {
		return fmt.Sprintf("%s (in %s)", t.UTC().Format(time.RFC3339), duration.HumanDuration(t.Sub(now)))
	}
	return client.TimeText(t, now)
}

// printRunValues prints the run's parameters and job variables, resolved
// by the reconciler or else as requested, and its conditions.
func printRunValues(w describe.PrefixWriter, r *client.RunInfo) {
	st := r.Status
	params, jobVars, from := r.Values()
	block(w, 0, "Parameters ("+from+")", client.YAMLText(params))
	block(w, 0, "Job Variables ("+from+")", client.YAMLText(jobVars))
	if !tableSection(w, 0, "Conditions", "Type\tStatus\tReason\tMessage", len(st.Conditions)) {
		return
	}
	for _, cd := range st.Conditions {
		w.Write(1, "%s\t%s\t%s\t%s\n", cd.Type, cd.Status, cd.Reason, cd.Message)
	}
}

// printRunJob prints the run's Job and its pods, or why they are not
// shown. statusJob is the Job the run's status names.
func printRunJob(w describe.PrefixWriter, o *client.RunObjects, statusJob string, now time.Time) {
	switch {
	case o.JobErr != nil:
		field(w, 0, "Job:", "%s (cannot read it: %v)", o.JobName, o.JobErr)
		return
	case o.Job == nil && statusJob != "":
		field(w, 0, "Job:", "%s (gone)", o.JobName)
		return
	case o.Job == nil:
		field(w, 0, "Job:", "<none>")
		return
	}
	field(w, 0, "Job:", "%s", o.Job.Name)
	field(w, 1, "Status:", "%s", client.JobStatus(o.Job))
	switch {
	case o.PodsErr != nil:
		field(w, 1, "Pods:", "cannot list them: %v", o.PodsErr)
	case tableSection(w, 1, "Pods", "Name\tPhase\tNode\tWaiting/Terminated\tAge", len(o.Pods)):
		for i := range o.Pods {
			pod := &o.Pods[i]
			w.Write(2, "%s\t%s\t%s\t%s\t%s\n", pod.Name, pod.Status.Phase, orNone(pod.Spec.NodeName), podstatus.Summary(pod), client.Age(now, pod.CreationTimestamp.Time))
		}
	}
}

// printEvents prints Events as kubectl describe does.
func printEvents(w describe.PrefixWriter, evs []corev1.Event, err error, now time.Time) {
	if err != nil {
		field(w, 0, "Events:", "cannot list them: %v", err)
		return
	}
	if !tableSection(w, 0, "Events", "Type\tReason\tAge\tFrom\tObject\tMessage", len(evs)) {
		return
	}
	for _, e := range evs {
		w.Write(1, "%s\t%s\t%s\t%s\t%s/%s\t%s\n", e.Type, e.Reason, client.Age(now, client.EventTime(e)), orNone(client.EventSource(e)),
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, strings.TrimSpace(e.Message))
	}
}
