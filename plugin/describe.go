package plugin

import (
	"context"
	"errors"
	"fmt"
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
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/describe"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/podstatus"
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

// Run describes: it reads everything the description shows first, then
// prints it, so the printing is a pure function of what was read.
func (o *DescribeOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	tw := tabwriter.NewWriter(o.Out, 0, 8, 2, ' ', 0)
	w := describe.NewPrefixWriter(tw)
	switch o.kind {
	case "runs":
		d, err := o.readRun(ctx)
		if err != nil {
			return err
		}
		printRun(w, d)
	case "deployments":
		s, err := o.f.snapshot(ctx, "")
		if err != nil {
			return err
		}
		d, err := o.f.deployment(s.installed, o.name)
		if err != nil {
			return err
		}
		printDeployment(w, s, d)
	default:
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
		printPool(w, s, pool)
	}
	return tw.Flush()
}

// field writes "Label:<tab>value" at an indentation level.
func field(w describe.PrefixWriter, level int, label, format string, args ...any) {
	w.Write(level, "%s\t%s\n", label, fmt.Sprintf(format, args...))
}

// block writes a multi-line value indented under its label.
func block(w describe.PrefixWriter, level int, label string, text string) {
	text = strings.TrimRight(text, "\n")
	if text == "" || text == "{}" {
		field(w, level, label+":", "<none>")
		return
	}
	w.Write(level, "%s:\n", label)
	for _, l := range strings.Split(text, "\n") {
		w.Write(level+1, "%s\n", l)
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

// runDetails is what describe run shows: the run, its Job, the Job's pods
// and their Events. An object that could not be read carries its error,
// printed in its place.
type runDetails struct {
	now       time.Time
	run       *project.RunInfo
	jobName   string
	job       *batchv1.Job // nil when absent or unreadable
	jobErr    error        // reading the Job failed (not NotFound)
	pods      []corev1.Pod
	podsErr   error
	events    []corev1.Event // the newest 20, oldest first
	eventsErr error
	cancel    *corev1.ConfigMap // a cancel request for the run, if any
	family
}

// family is a run's parent and children (runs started from inside it).
type family struct {
	parent      *v1alpha1.RunRef
	parentState string // the parent's state, or why it is not shown
	children    []*project.RunInfo
}

// familyOf finds r's parent and children among runs (the namespace's).
// A parent is matched by name and UID, as the reconciler matches it.
func familyOf(r *project.RunInfo, runs []*project.RunInfo, now time.Time) family {
	fam := family{children: children(runs, r)}
	if r.Request == nil || r.Request.Parent == nil {
		return fam
	}
	fam.parent, fam.parentState = r.Request.Parent, "not found"
	for _, p := range runs {
		if r.Request.Parent.Is(p.ConfigMap) {
			fam.parentState = string(p.DisplayState(now))
		}
	}
	return fam
}

// readRun reads the run, its Job, pods and their Events.
func (o *DescribeOptions) readRun(ctx context.Context) (*runDetails, error) {
	r, err := o.f.getRun(ctx, o.name)
	if err != nil {
		return nil, err
	}
	cancels, err := o.f.listCancelRequests(ctx)
	if err != nil {
		return nil, err
	}
	d, err := o.f.readRunDetails(ctx, r)
	if err != nil {
		return nil, err
	}
	d.cancel = cancels.forRun(r.ConfigMap)
	runs, err := o.f.listRuns(ctx, "")
	if err != nil {
		return nil, err
	}
	d.family = familyOf(r, runs, d.now)
	return d, nil
}

// readRunDetails reads a run's Job, the pods that Job controls (by UID: a
// pod carrying the run's labels is not enough) and their Events, for
// `describe run` and the dashboard's run page.
func (f *Factory) readRunDetails(ctx context.Context, r *project.RunInfo) (*runDetails, error) {
	c, err := f.KubeClient()
	if err != nil {
		return nil, err
	}
	cm := r.ConfigMap
	d := &runDetails{now: f.now(), run: r, jobName: r.Status.JobName}
	if d.jobName == "" {
		d.jobName = v1alpha1.JobName(cm.Name)
	}
	objects := []string{cm.Name}
	job, err := c.BatchV1().Jobs(cm.Namespace).Get(ctx, d.jobName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		d.jobErr = f.apiError(err, "get", "jobs")
	default:
		d.job = job
		objects = append(objects, job.Name)
		pods, err := c.CoreV1().Pods(cm.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{v1alpha1.LabelRunName: job.Name}.String()})
		if err != nil {
			d.podsErr = f.apiError(err, "list", "pods")
		} else {
			for _, pod := range pods.Items {
				if ref := metav1.GetControllerOfNoCopy(&pod); ref == nil || ref.UID != job.UID {
					continue
				}
				d.pods = append(d.pods, pod)
				objects = append(objects, pod.Name)
			}
		}
	}
	d.events, d.eventsErr = f.readEvents(ctx, c, cm.Namespace, objects)
	return d, nil
}

// printRun prints a run's description.
func printRun(w describe.PrefixWriter, d *runDetails) {
	r, now := d.run, d.now
	st := r.Status
	cm := r.ConfigMap
	field(w, 0, "Name:", "%s", cm.Name)
	field(w, 0, "Namespace:", "%s", cm.Namespace)
	field(w, 0, "Deployment:", "%s", orNone(r.Deployment()))
	field(w, 0, "State:", "%s", r.DisplayState(now))
	if st.Reason != "" {
		field(w, 0, "Reason:", "%s", st.Reason)
	}
	if st.Message != "" {
		field(w, 0, "Message:", "%s", st.Message)
	}
	if r.RequestErr != nil {
		field(w, 0, "Request Error:", "%s", r.RequestErr)
	}
	if _, ok := cm.Annotations[v1alpha1.AnnotationCancel]; ok && !r.State().Final() {
		field(w, 0, "Cancel:", "requested %s", cm.Annotations[v1alpha1.AnnotationCancel])
	} else if req := d.cancel; req != nil && !r.State().Final() {
		field(w, 0, "Cancel:", "requested %s by cancel request %s", timeText(&req.CreationTimestamp, now), req.Name)
	}
	if st.Pool != "" {
		field(w, 0, "Pool:", "%s", st.Pool)
		field(w, 0, "Queue:", "%s", st.Queue)
	}
	tags := st.Tags
	if len(tags) == 0 && r.Request != nil {
		tags = r.Request.Tags
	}
	field(w, 0, "Tags:", "%s", orNone(strings.Join(tags, ", ")))
	field(w, 0, "Created:", "%s", timeText(&cm.CreationTimestamp, now))
	sched := metav1.NewTime(r.ScheduledTime())
	field(w, 0, "Scheduled:", "%s", timeText(&sched, now))
	field(w, 0, "Pending:", "%s", timeText(st.PendingTime, now))
	field(w, 0, "Started:", "%s", timeText(st.StartTime, now))
	field(w, 0, "Ended:", "%s", timeText(st.EndTime, now))
	if dur := runDuration(r, now); dur != "" {
		field(w, 0, "Duration:", "%s", dur)
	}
	if d.parent != nil {
		field(w, 0, "Parent:", "%s (%s)", d.parent.Run, d.parentState)
	}
	params, jobVars := st.Parameters, st.JobVariables
	resolved := "resolved"
	if params == nil && jobVars == nil && r.Request != nil {
		params, jobVars, resolved = r.Request.Parameters, r.Request.JobVariables, "requested"
	}
	block(w, 0, "Parameters ("+resolved+")", yamlText(params))
	block(w, 0, "Job Variables ("+resolved+")", yamlText(jobVars))
	if len(st.Conditions) > 0 {
		w.Write(0, "Conditions:\n")
		w.Write(1, "Type\tStatus\tReason\tMessage\n")
		for _, cd := range st.Conditions {
			w.Write(1, "%s\t%s\t%s\t%s\n", cd.Type, cd.Status, cd.Reason, cd.Message)
		}
	} else {
		field(w, 0, "Conditions:", "<none>")
	}

	if len(d.children) > 0 {
		w.Write(0, "Children:\n")
		w.Write(1, "Name\tDeployment\tState\tAge\n")
		for _, c := range d.children {
			w.Write(1, "%s\t%s\t%s\t%s\n", c.ConfigMap.Name, orNone(c.Deployment()), c.DisplayState(now), age(now, c.ConfigMap.CreationTimestamp))
		}
	}
	switch {
	case d.jobErr != nil:
		field(w, 0, "Job:", "%s (cannot read it: %v)", d.jobName, d.jobErr)
	case d.job == nil && st.JobName != "":
		field(w, 0, "Job:", "%s (gone)", d.jobName)
	case d.job == nil:
		field(w, 0, "Job:", "<none>")
	default:
		field(w, 0, "Job:", "%s", d.job.Name)
		field(w, 1, "Status:", "%s", jobStatusText(d.job))
		switch {
		case d.podsErr != nil:
			field(w, 1, "Pods:", "cannot list them: %v", d.podsErr)
		case len(d.pods) == 0:
			field(w, 1, "Pods:", "<none>")
		default:
			w.Write(1, "Pods:\n")
			w.Write(2, "Name\tPhase\tNode\tWaiting/Terminated\tAge\n")
			for i := range d.pods {
				pod := &d.pods[i]
				w.Write(2, "%s\t%s\t%s\t%s\t%s\n", pod.Name, pod.Status.Phase, orNone(pod.Spec.NodeName), podstatus.Summary(pod), age(now, pod.CreationTimestamp))
			}
		}
	}
	if st.LogTail != "" {
		block(w, 0, "Log Tail", st.LogTail)
	}
	printEvents(w, d.events, d.eventsErr, now)
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

// readEvents reads the recent Events of the named objects: the newest 20,
// oldest first.
func (f *Factory) readEvents(ctx context.Context, c kubernetes.Interface, ns string, names []string) ([]corev1.Event, error) {
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

// eventSource names the component that recorded an Event.
func eventSource(e corev1.Event) string {
	if e.Source.Component != "" {
		return e.Source.Component
	}
	return e.ReportingController
}

// printEvents prints Events as kubectl describe does.
func printEvents(w describe.PrefixWriter, evs []corev1.Event, err error, now time.Time) {
	if err != nil {
		field(w, 0, "Events:", "cannot list them: %v", err)
		return
	}
	if len(evs) == 0 {
		field(w, 0, "Events:", "<none>")
		return
	}
	w.Write(0, "Events:\n")
	w.Write(1, "Type\tReason\tAge\tFrom\tObject\tMessage\n")
	for _, e := range evs {
		w.Write(1, "%s\t%s\t%s\t%s\t%s/%s\t%s\n", e.Type, e.Reason, age(now, metav1.NewTime(eventTime(e))), orNone(eventSource(e)),
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, strings.TrimSpace(e.Message))
	}
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

// printDeployment prints a deployment's description from a snapshot.
func printDeployment(w describe.PrefixWriter, s *snapshot, d *project.InstalledDeployment) {
	name := d.FullName()
	field(w, 0, "Name:", "%s", name)
	field(w, 0, "Namespace:", "%s", s.ns)
	field(w, 0, "ConfigMap:", "%s", d.ConfigMap.Name)
	if d.Description != "" {
		field(w, 0, "Description:", "%s", d.Description)
	}
	field(w, 0, "Entrypoint:", "%s", d.Entrypoint)
	if d.Image != "" {
		field(w, 0, "Image:", "%s", d.Image)
	}
	field(w, 0, "Pool:", "%s", d.Pool)
	field(w, 0, "Queue:", "%s", d.Queue)
	field(w, 0, "Tags:", "%s", orNone(strings.Join(d.Tags, ", ")))
	field(w, 0, "Paused:", "%s", s.deploymentPause(d).sentence())
	strategy := d.CollisionStrategy
	if strategy == "" {
		strategy = v1alpha1.CollisionEnqueue
	}
	field(w, 0, "Concurrency Limit:", "%s (%s when full)", project.LimitString(d.ConcurrencyLimit), strategy)
	field(w, 0, "Slots In Use:", "%d", s.usage.Deployment[name])
	field(w, 0, "Waiting Runs:", "%d", s.usage.WaitingDeployment[name])
	if len(d.Schedules) == 0 {
		field(w, 0, "Schedules:", "<none>")
	} else {
		w.Write(0, "Schedules:\n")
		w.Write(1, "Schedule\tActive\tNext Run\n")
		for _, sc := range d.Schedules {
			one := d.Deployment
			one.Schedules = []v1alpha1.Schedule{sc}
			active := sc.Active == nil || *sc.Active
			next := "<none>"
			if n := nextRun(&one, s.now); active && !n.IsZero() {
				next = n.UTC().Format(time.RFC3339)
			}
			w.Write(1, "%s\t%v\t%s\n", scheduleString(&one), active, next)
		}
	}
	block(w, 0, "Parameters", yamlText(d.Parameters))
	if props, ok := d.ParameterSchema["properties"].(map[string]any); ok && len(props) > 0 {
		var names []string
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		field(w, 0, "Parameter Schema:", "properties %s", strings.Join(names, ", "))
	}
	block(w, 0, "Job Variables", yamlText(d.JobVariables))
	var pool *v1alpha1.Pool
	if ip := s.installed.Pools[d.Pool]; ip != nil {
		pool = &ip.Pool
	}
	field(w, 0, "Run Overrides:", "%s", runOverridesText(project.RunOverrides(pool, &d.Deployment)))
	var recent []*project.RunInfo
	for _, r := range s.runs {
		if r.Deployment() == name {
			recent = append(recent, r)
		}
	}
	if len(recent) == 0 {
		field(w, 0, "Recent Runs:", "<none>")
		return
	}
	if len(recent) > 10 {
		recent = recent[len(recent)-10:]
	}
	w.Write(0, "Recent Runs:\n")
	w.Write(1, "Name\tState\tReason\tAge\tDuration\n")
	for i := len(recent) - 1; i >= 0; i-- {
		r := recent[i]
		w.Write(1, "%s\t%s\t%s\t%s\t%s\n", r.ConfigMap.Name, r.DisplayState(s.now), orNone(r.Status.Reason), age(s.now, r.ConfigMap.CreationTimestamp), orNone(runDuration(r, s.now)))
	}
}

// runOverridesText lists the job variables a run may set.
func runOverridesText(names []string) string {
	if len(names) == 0 {
		return "<none> (a run may set no job variables)"
	}
	return strings.Join(names, ", ")
}

// printPool prints a pool's description from a snapshot.
func printPool(w describe.PrefixWriter, s *snapshot, pool *project.InstalledPool) {
	field(w, 0, "Name:", "%s", pool.Name)
	field(w, 0, "Namespace:", "%s", s.ns)
	field(w, 0, "ConfigMap:", "%s", pool.ConfigMap.Name)
	field(w, 0, "Paused:", "%s", poolPause(pool).sentence())
	field(w, 0, "Concurrency Limit:", "%s", project.LimitString(pool.ConcurrencyLimit))
	field(w, 0, "Slots In Use:", "%d", s.usage.Pool[pool.Name])
	field(w, 0, "Waiting Runs:", "%d", s.usage.WaitingPool[pool.Name])
	if pool.Template != nil {
		field(w, 0, "Template Variables:", "%s", strings.Join(pool.Template.VariableNames(), ", "))
	}
	block(w, 0, "Job Variables", yamlText(pool.JobVariables))
	field(w, 0, "Run Overrides:", "%s", runOverridesText(project.RunOverrides(&pool.Pool, nil)))
	w.Write(0, "Queues:\n")
	w.Write(1, "Name\tPriority\tPaused\tSlots\tWaiting\n")
	for _, q := range queueRows(s) {
		if q.pool.Name == pool.Name {
			w.Write(1, "%s\t%d\t%s\t%s\t%d\n", q.queue.Name, q.queue.Priority, q.status.Paused, slotsCell(q.status.SlotsInUse, q.queue.ConcurrencyLimit), q.status.Waiting)
		}
	}
	deps := s.deploymentsIn(pool.Name, "")
	field(w, 0, "Deployments:", "%s", orNone(strings.Join(deps, ", ")))
}
