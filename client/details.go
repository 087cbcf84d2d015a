package client

import (
	"context"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// RunDetails is one run in detail, as `describe run` and the dashboard's
// run page show it: its view, its parent and children, and the objects it
// made.
type RunDetails struct {
	View RunView
	Family
	Objects *RunObjects
}

// RunDetails reads the objects of a run of the snapshot.
func (c *Client) RunDetails(ctx context.Context, s *Snapshot, r *RunInfo) *RunDetails {
	return &RunDetails{View: s.ViewRun(r), Family: s.Family(r), Objects: c.RunObjects(ctx, r)}
}

// RunObjects are a run's Job, the pods that Job controls and their
// Events, as `describe run` and the dashboard's run page show them. An
// object that could not be read carries its error, shown in its place.
type RunObjects struct {
	JobName   string
	Job       *batchv1.Job // nil when absent or unreadable
	JobErr    error        // reading the Job failed (not NotFound)
	Pods      []corev1.Pod
	PodsErr   error
	Events    []corev1.Event // the newest 20, oldest first
	EventsErr error
}

// RunObjects reads a run's Job, the pods that Job controls (by UID: a
// pod carrying the run's labels is not enough) and their Events.
func (c *Client) RunObjects(ctx context.Context, r *RunInfo) *RunObjects {
	cm := r.ConfigMap
	o := &RunObjects{JobName: r.JobName()}
	names := []string{cm.Name}
	job, err := c.kube.BatchV1().Jobs(cm.Namespace).Get(ctx, o.JobName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		o.JobErr = c.Explain(err, "get", "jobs")
	default:
		o.Job = job
		names = append(names, job.Name)
		o.Pods, o.PodsErr = c.jobPods(ctx, job)
		for _, p := range o.Pods {
			names = append(names, p.Name)
		}
	}
	o.Events, o.EventsErr = c.events(ctx, cm.Namespace, names)
	return o
}

// jobPods lists the pods job controls.
func (c *Client) jobPods(ctx context.Context, job *batchv1.Job) ([]corev1.Pod, error) {
	list, err := c.kube.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{v1alpha1.LabelRunName: job.Name}.String()})
	if err != nil {
		return nil, c.Explain(err, "list", "pods")
	}
	var pods []corev1.Pod
	for _, pod := range list.Items {
		if v1alpha1.ControlledBy(&pod, job.UID) {
			pods = append(pods, pod)
		}
	}
	return pods, nil
}

// events reads the recent Events of the named objects: the newest 20,
// oldest first.
func (c *Client) events(ctx context.Context, ns string, names []string) ([]corev1.Event, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	seen := map[string]bool{}
	var evs []corev1.Event
	for _, n := range names {
		list, err := c.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", n).String()})
		if err != nil {
			return nil, c.Explain(err, "list", "events")
		}
		for _, e := range list.Items {
			if key := string(e.UID) + e.Name; want[e.InvolvedObject.Name] && !seen[key] {
				seen[key] = true
				evs = append(evs, e)
			}
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return EventTime(evs[i]).Before(EventTime(evs[j])) })
	if len(evs) > 20 {
		evs = evs[len(evs)-20:]
	}
	return evs, nil
}

// EventTime is when an Event last happened.
func EventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// EventSource names the component that recorded an Event.
func EventSource(e corev1.Event) string {
	if e.Source.Component != "" {
		return e.Source.Component
	}
	return e.ReportingController
}

// JobStatus sums up a Job's status: its pod counts and true conditions.
func JobStatus(job *batchv1.Job) string {
	s := fmt.Sprintf("active %d, succeeded %d, failed %d", job.Status.Active, job.Status.Succeeded, job.Status.Failed)
	for _, c := range job.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			s += fmt.Sprintf("; %s", c.Type)
			if c.Reason != "" {
				s += " (" + c.Reason + ")"
			}
		}
	}
	if job.DeletionTimestamp != nil {
		s += "; being deleted"
	}
	return s
}
