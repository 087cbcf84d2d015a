package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
	"github.com/kubectl-flows/kubectl-flows/project"
)

var describeLong = templates.LongDesc(`
	Show a run, deployment or pool in detail.

	A run shows its state with reason and message, conditions, the
	parameters and job variables it resolved to, its Job and the states of
	its pods (why a pod waits: Unschedulable, ImagePullBackOff, ...), the end
	of the log saved for a Failed or Crashed run, and recent Events of the
	run, its Job and pods. A deployment shows its config, pause state,
	slots, schedules with their next times and its recent runs; a pool its
	limits, queues and deployments.`)

var describeExample = templates.Examples(`
	kubectl flows describe run hello-default-x7k2p
	kubectl flows describe deployment hello/default
	kubectl flows describe pool kubernetes`)

// DescribeOptions is `kubectl flows describe`.
type DescribeOptions struct {
	kind string
	name string
	f    *Factory
	genericiooptions.IOStreams
}

// NewCmdDescribe is `kubectl flows describe`.
func NewCmdDescribe(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DescribeOptions{f: f, IOStreams: streams}
	return &cobra.Command{
		Use:                   "describe (run|deployment|pool) NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Show details of a run, deployment or pool",
		Long:                  describeLong,
		Example:               describeExample,
		ValidArgsFunction:     completeKindName(f, "run", "deployment", "pool"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return errors.New("usage: kubectl flows describe (run|deployment|pool) NAME")
			}
			k := kindFor(args[0])
			if k == nil || (k.plural != "runs" && k.plural != "deployments" && k.plural != "pools") {
				return fmt.Errorf("describe works on a run, deployment or pool, not %q", args[0])
			}
			o.kind, o.name = k.plural, args[1]
			return o.Run(cmd.Context())
		},
	}
}

// Run describes.
func (o *DescribeOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	w := tabwriter.NewWriter(o.Out, 0, 8, 2, ' ', 0)
	defer w.Flush()
	switch o.kind {
	case "runs":
		return o.describeRun(ctx, w)
	case "deployments":
		return o.describeDeployment(ctx, w)
	default:
		return o.describePool(ctx, w)
	}
}

// pw writes "Label:\tvalue" lines with indentation.
type pw struct{ w io.Writer }

func (p pw) line(level int, label string, format string, args ...any) {
	fmt.Fprintf(p.w, "%s%s\t%s\n", strings.Repeat("  ", level), label, fmt.Sprintf(format, args...))
}

func (p pw) raw(level int, format string, args ...any) {
	fmt.Fprintf(p.w, "%s%s\n", strings.Repeat("  ", level), fmt.Sprintf(format, args...))
}

// block writes a multi-line value indented under its label.
func (p pw) block(level int, label string, text string) {
	text = strings.TrimRight(text, "\n")
	if text == "" || text == "{}" {
		p.line(level, label+":", "<none>")
		return
	}
	p.raw(level, "%s:", label)
	for _, l := range strings.Split(text, "\n") {
		p.raw(level+1, "%s", l)
	}
}

func yamlText(v any) string {
	if v == nil {
		return ""
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return ""
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func timeText(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), age(now, *t))
}

func (o *DescribeOptions) describeRun(ctx context.Context, w io.Writer) error {
	r, err := o.f.getRun(ctx, o.name)
	if err != nil {
		return err
	}
	now := o.f.now()
	st := r.Status
	cm := r.ConfigMap
	p := pw{w}
	p.line(0, "Name:", "%s", cm.Name)
	p.line(0, "Namespace:", "%s", cm.Namespace)
	p.line(0, "Deployment:", "%s", orNone(r.Deployment()))
	p.line(0, "State:", "%s", r.DisplayState(now))
	if st.Reason != "" {
		p.line(0, "Reason:", "%s", st.Reason)
	}
	if st.Message != "" {
		p.line(0, "Message:", "%s", st.Message)
	}
	if r.RequestErr != nil {
		p.line(0, "Request Error:", "%s", r.RequestErr)
	}
	if _, ok := cm.Annotations[project.AnnotationCancel]; ok && !r.State().Final() {
		p.line(0, "Cancel:", "requested %s", cm.Annotations[project.AnnotationCancel])
	}
	if st.Pool != "" {
		p.line(0, "Pool:", "%s", st.Pool)
		p.line(0, "Queue:", "%s", st.Queue)
	}
	tags := st.Tags
	if len(tags) == 0 && r.Request != nil {
		tags = r.Request.Tags
	}
	p.line(0, "Tags:", "%s", orNone(strings.Join(tags, ", ")))
	p.line(0, "Created:", "%s", timeText(&cm.CreationTimestamp, now))
	sched := metav1.NewTime(r.ScheduledTime())
	p.line(0, "Scheduled:", "%s", timeText(&sched, now))
	p.line(0, "Pending:", "%s", timeText(st.PendingTime, now))
	p.line(0, "Started:", "%s", timeText(st.StartTime, now))
	p.line(0, "Ended:", "%s", timeText(st.EndTime, now))
	if d := runDuration(r, now); d != "" {
		p.line(0, "Duration:", "%s", d)
	}
	params, jobVars := st.Parameters, st.JobVariables
	resolved := "resolved"
	if params == nil && jobVars == nil && r.Request != nil {
		params, jobVars, resolved = r.Request.Parameters, r.Request.JobVariables, "requested"
	}
	p.block(0, "Parameters ("+resolved+")", yamlText(params))
	p.block(0, "Job Variables ("+resolved+")", yamlText(jobVars))
	if len(st.Conditions) > 0 {
		p.raw(0, "Conditions:")
		p.raw(1, "Type\tStatus\tReason\tMessage")
		for _, cd := range st.Conditions {
			p.raw(1, "%s\t%s\t%s\t%s", cd.Type, cd.Status, cd.Reason, cd.Message)
		}
	} else {
		p.line(0, "Conditions:", "<none>")
	}

	objs := o.f.readRunObjects(ctx, r)
	switch {
	case objs.job == nil && objs.jobErr == nil:
		if st.JobName != "" {
			p.line(0, "Job:", "%s (gone)", objs.jobName)
		} else {
			p.line(0, "Job:", "<none>")
		}
	case objs.jobErr != nil:
		p.line(0, "Job:", "%s (cannot read it: %v)", objs.jobName, objs.jobErr)
	default:
		job := objs.job
		p.line(0, "Job:", "%s", job.Name)
		p.line(1, "Status:", "%s", jobStatusText(job))
		if objs.podsErr != nil {
			p.line(1, "Pods:", "cannot list them: %v", objs.podsErr)
		} else if len(objs.pods) == 0 {
			p.line(1, "Pods:", "<none>")
		} else {
			p.raw(1, "Pods:")
			p.raw(2, "Name\tPhase\tNode\tWaiting/Terminated\tAge")
			for _, pod := range objs.pods {
				p.raw(2, "%s\t%s\t%s\t%s\t%s", pod.Name, pod.Status.Phase, orNone(pod.Spec.NodeName), podReason(&pod), age(now, pod.CreationTimestamp))
			}
		}
	}
	if st.LogTail != "" {
		p.block(0, "Log Tail", st.LogTail)
	}
	o.printEvents(p, objs, now)
	return nil
}

// runObjects are the Kubernetes objects of one run: its Job, the Job's
// pods, and the recent Events of the run, the Job and the pods. A nil job
// with a nil jobErr means there is none.
type runObjects struct {
	jobName   string
	job       *batchv1.Job
	jobErr    error
	pods      []corev1.Pod
	podsErr   error
	events    []corev1.Event
	eventsErr error
}

// readRunObjects reads a run's Job, pods and Events, for `describe run`
// and the dashboard's run page.
func (f *Factory) readRunObjects(ctx context.Context, r *project.RunInfo) runObjects {
	cm := r.ConfigMap
	o := runObjects{jobName: r.Status.JobName}
	if o.jobName == "" {
		o.jobName = project.JobName(cm.Name)
	}
	c, err := f.KubeClient()
	if err != nil {
		o.jobErr, o.eventsErr = err, err
		return o
	}
	names := []string{cm.Name}
	job, err := c.BatchV1().Jobs(cm.Namespace).Get(ctx, o.jobName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		o.jobErr = f.apiError(err, "get", "jobs")
	default:
		o.job = job
		names = append(names, job.Name)
		pods, err := c.CoreV1().Pods(cm.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{project.LabelRunName: job.Name}.String()})
		if err != nil {
			o.podsErr = f.apiError(err, "list", "pods")
		} else {
			o.pods = pods.Items
			for _, pod := range pods.Items {
				names = append(names, pod.Name)
			}
		}
	}
	o.events, o.eventsErr = f.listEvents(ctx, cm.Namespace, names)
	return o
}

func jobStatusText(job *batchv1.Job) string {
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

// podReason says why a pod is where it is.
func podReason(p *corev1.Pod) string {
	for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return strings.TrimSpace(w.Reason + " " + w.Message)
		}
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("%s (exit %d)", orNone(t.Reason), t.ExitCode)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	if p.Status.Reason != "" {
		return p.Status.Reason
	}
	return "-"
}

// listEvents reads the Events of the named objects, oldest first, without
// repeats, the last 20.
func (f *Factory) listEvents(ctx context.Context, ns string, names []string) ([]corev1.Event, error) {
	c, err := f.KubeClient()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var evs []corev1.Event
	for _, n := range names {
		list, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", n).String()})
		if err != nil {
			return nil, f.apiError(err, "list", "events")
		}
		for _, e := range list.Items {
			if want[e.InvolvedObject.Name] {
				evs = append(evs, e)
			}
		}
	}
	seen := map[string]bool{}
	uniq := evs[:0]
	for _, e := range evs {
		if !seen[string(e.UID)+e.Name] {
			seen[string(e.UID)+e.Name] = true
			uniq = append(uniq, e)
		}
	}
	evs = uniq
	sort.SliceStable(evs, func(i, j int) bool { return eventTime(evs[i]).Before(eventTime(evs[j])) })
	if len(evs) > 20 {
		evs = evs[len(evs)-20:]
	}
	return evs, nil
}

// printEvents prints a run's Events.
func (o *DescribeOptions) printEvents(p pw, objs runObjects, now time.Time) {
	if objs.eventsErr != nil {
		p.line(0, "Events:", "cannot list them: %v", objs.eventsErr)
		return
	}
	if len(objs.events) == 0 {
		p.line(0, "Events:", "<none>")
		return
	}
	p.raw(0, "Events:")
	p.raw(1, "Type\tReason\tAge\tFrom\tObject\tMessage")
	for _, e := range objs.events {
		p.raw(1, "%s\t%s\t%s\t%s\t%s/%s\t%s", e.Type, e.Reason, age(now, metav1.NewTime(eventTime(e))), orNone(eventSource(e)),
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, strings.TrimSpace(e.Message))
	}
}

// eventSource is the component that reported an Event.
func eventSource(e corev1.Event) string {
	if e.Source.Component != "" {
		return e.Source.Component
	}
	return e.ReportingController
}

func eventTime(e corev1.Event) time.Time {
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

func limitText(v *int32) string { return project.LimitString(v) }

func (o *DescribeOptions) describeDeployment(ctx context.Context, w io.Writer) error {
	s, err := o.f.snapshot(ctx, "")
	if err != nil {
		return err
	}
	d, err := o.f.deployment(s.installed, o.name)
	if err != nil {
		return err
	}
	name := d.FullName()
	p := pw{w}
	p.line(0, "Name:", "%s", name)
	p.line(0, "Namespace:", "%s", s.ns)
	p.line(0, "ConfigMap:", "%s", d.ConfigMap.Name)
	if d.Description != "" {
		p.line(0, "Description:", "%s", d.Description)
	}
	p.line(0, "Entrypoint:", "%s", d.Entrypoint)
	if d.Image != "" {
		p.line(0, "Image:", "%s", d.Image)
	}
	p.line(0, "Pool:", "%s", d.Pool)
	p.line(0, "Queue:", "%s", d.Queue)
	p.line(0, "Tags:", "%s", orNone(strings.Join(d.Tags, ", ")))
	p.line(0, "Paused:", "%s", pausedText(s.deploymentPaused(d)))
	strategy := d.CollisionStrategy
	if strategy == "" {
		strategy = project.CollisionEnqueue
	}
	p.line(0, "Concurrency Limit:", "%s (%s when full)", limitText(d.ConcurrencyLimit), strategy)
	p.line(0, "Slots In Use:", "%d", s.usage.Deployment[name])
	p.line(0, "Waiting Runs:", "%d", s.usage.WaitingDeployment[name])
	if len(d.Schedules) == 0 {
		p.line(0, "Schedules:", "<none>")
	} else {
		p.raw(0, "Schedules:")
		p.raw(1, "Schedule\tActive\tNext Run")
		for _, sc := range d.Schedules {
			one := d.Deployment
			one.Schedules = []project.Schedule{sc}
			active := sc.Active == nil || *sc.Active
			next := "<none>"
			if n := nextRun(&one, s.now); active && !n.IsZero() {
				next = n.UTC().Format(time.RFC3339)
			}
			p.raw(1, "%s\t%v\t%s", scheduleString(&one), active, next)
		}
	}
	p.block(0, "Parameters", yamlText(d.Parameters))
	if props, ok := d.ParameterSchema["properties"].(map[string]any); ok && len(props) > 0 {
		var names []string
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		p.line(0, "Parameter Schema:", "properties %s", strings.Join(names, ", "))
	}
	p.block(0, "Job Variables", yamlText(d.JobVariables))
	var recent []*project.RunInfo
	for _, r := range s.runs {
		if r.Deployment() == name {
			recent = append(recent, r)
		}
	}
	if len(recent) == 0 {
		p.line(0, "Recent Runs:", "<none>")
		return nil
	}
	if len(recent) > 10 {
		recent = recent[len(recent)-10:]
	}
	p.raw(0, "Recent Runs:")
	p.raw(1, "Name\tState\tReason\tAge\tDuration")
	for i := len(recent) - 1; i >= 0; i-- {
		r := recent[i]
		p.raw(1, "%s\t%s\t%s\t%s\t%s", r.ConfigMap.Name, r.DisplayState(s.now), orNone(r.Status.Reason), age(s.now, r.ConfigMap.CreationTimestamp), orNone(runDuration(r, s.now)))
	}
	return nil
}

func pausedText(cell string) string {
	switch cell {
	case "paused":
		return "yes (paused: true in the project file)"
	case "paused (kubectl)":
		return "yes (kubectl flows pause; until resume or the next apply)"
	case "via pool":
		return "no, but its pool is paused"
	case "via queue":
		return "no, but its queue is paused"
	}
	return "no"
}

func (o *DescribeOptions) describePool(ctx context.Context, w io.Writer) error {
	s, err := o.f.snapshot(ctx, "")
	if err != nil {
		return err
	}
	pool := s.installed.Pools[o.name]
	if pool == nil {
		hint := ""
		if c := project.Closest(o.name, s.installed.PoolNames(), 3); len(c) > 0 {
			hint = "; did you mean " + strings.Join(c, ", ") + "?"
		}
		return fmt.Errorf("pool %q not found in namespace %q%s", o.name, s.ns, hint)
	}
	p := pw{w}
	p.line(0, "Name:", "%s", pool.Name)
	p.line(0, "Namespace:", "%s", s.ns)
	p.line(0, "ConfigMap:", "%s", pool.ConfigMap.Name)
	p.line(0, "Paused:", "%s", pausedText(pausedCell(pool.Paused, pool.PausedByAnnotation)))
	p.line(0, "Concurrency Limit:", "%s", limitText(pool.ConcurrencyLimit))
	p.line(0, "Slots In Use:", "%d", s.usage.Pool[pool.Name])
	p.line(0, "Waiting Runs:", "%d", s.usage.WaitingPool[pool.Name])
	if t, err := jobtemplate.Parse([]byte(pool.ConfigMap.Data[project.KeyJobTemplate]), "pool "+pool.Name); err == nil {
		p.line(0, "Template Variables:", "%s", strings.Join(t.VariableNames(), ", "))
	}
	p.block(0, "Job Variables", yamlText(pool.JobVariables))
	p.raw(0, "Queues:")
	p.raw(1, "Name\tPriority\tPaused\tSlots\tWaiting")
	for _, v := range queueViews(s) {
		if strings.HasPrefix(v.name, pool.Name+"/") {
			p.raw(1, "%s\t%s\t%s\t%s\t%s", strings.TrimPrefix(v.name, pool.Name+"/"), v.cells[1], v.cells[2], v.cells[3], v.cells[4])
		}
	}
	deps := s.deploymentsIn(pool.Name, "")
	p.line(0, "Deployments:", "%s", orNone(strings.Join(deps, ", ")))
	return nil
}
