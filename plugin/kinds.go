package plugin

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// The objects `get -o json|yaml|name` prints are views, not API objects:
// kubectl-flows keeps everything in ConfigMaps and these put the pieces
// together in the shape of a Kubernetes object (apiVersion, kind, metadata,
// spec, status) so tools like jq and jsonpath work on them.
const viewAPIVersion = v1alpha1.APIVersion

// snapshot is what one `get` or `describe` reads: the installed config, the
// runs, and the slots they hold.
type snapshot struct {
	ns        string
	now       time.Time
	installed *project.Installed
	runs      []*project.RunInfo
	usage     *project.Usage
	cancels   cancelRequests // pending cancel requests, by run
}

func newSnapshot(ns string, now time.Time, in *project.Installed, runs []*project.RunInfo) *snapshot {
	return &snapshot{ns: ns, now: now, installed: in, runs: runs, usage: project.CountSlots(runs, in)}
}

// view is one row of a `get`: its table cells and its object.
type view struct {
	name   string
	labels map[string]string
	cells  []any
	obj    *unstructured.Unstructured
}

// kindSpec describes one kind `get` knows.
type kindSpec struct {
	kind    string
	plural  string
	aliases []string
	columns []metav1.TableColumnDefinition
	views   func(s *snapshot) []view
}

func col(name string, wide bool, desc string) metav1.TableColumnDefinition {
	p := int32(0)
	if wide {
		p = 1
	}
	return metav1.TableColumnDefinition{Name: name, Type: "string", Priority: p, Description: desc}
}

var kinds = []*kindSpec{
	{
		kind: "Run", plural: "runs", aliases: []string{"run", "runs", "flowrun", "flowruns", "fr"},
		columns: []metav1.TableColumnDefinition{
			col("Name", false, "run request ConfigMap"),
			col("Deployment", false, "flow/name"),
			col("State", false, "Late: Scheduled and past its time"),
			col("Queue", false, "pool/queue"),
			col("Age", false, ""),
			col("Duration", false, "running time"),
			col("Reason", true, ""),
			col("Job", true, ""),
			col("Tags", true, ""),
			col("Scheduled", true, "scheduled start (UTC)"),
			col("Parent", true, "the run that started it (kubectl flows run inside a run's pod)"),
		},
		views: runViews,
	},
	{
		kind: "Deployment", plural: "deployments", aliases: []string{"deployment", "deployments", "deploy", "deploys"},
		columns: []metav1.TableColumnDefinition{
			col("Name", false, "flow/name"),
			col("Pool", false, ""),
			col("Queue", false, ""),
			col("Schedule", false, ""),
			col("Paused", false, ""),
			col("Slots", false, "runs in flight / concurrency limit"),
			col("Last Run", false, "state (age) of the newest run"),
			col("Next Run", false, "next scheduled time (UTC)"),
			col("Waiting", true, "runs waiting for a slot"),
			col("Tags", true, ""),
			col("Entrypoint", true, ""),
		},
		views: deploymentViews,
	},
	{
		kind: "Pool", plural: "pools", aliases: []string{"pool", "pools", "workpool", "workpools", "wp"},
		columns: []metav1.TableColumnDefinition{
			col("Name", false, ""),
			col("Paused", false, ""),
			col("Slots", false, "runs in flight / concurrency limit"),
			col("Waiting", false, "runs waiting for a slot"),
			col("Queues", false, ""),
			col("Deployments", true, ""),
		},
		views: poolViews,
	},
	{
		kind: "Queue", plural: "queues", aliases: []string{"queue", "queues", "workqueue", "workqueues", "wq"},
		columns: []metav1.TableColumnDefinition{
			col("Name", false, "pool/queue"),
			col("Priority", false, "lower is served first"),
			col("Paused", false, ""),
			col("Slots", false, "runs in flight / concurrency limit"),
			col("Waiting", false, "runs waiting for a slot"),
		},
		views: queueViews,
	},
	{
		kind: "ConcurrencyLimit", plural: "limits", aliases: []string{"limit", "limits", "concurrencylimit", "concurrencylimits", "tag", "tags"},
		columns: []metav1.TableColumnDefinition{
			col("Name", false, "tag"),
			col("Slots", false, "runs in flight carrying the tag / limit"),
			col("Deployments", true, "deployments carrying the tag"),
		},
		views: limitViews,
	},
}

func kindFor(arg string) *kindSpec {
	arg = strings.ToLower(arg)
	for _, k := range kinds {
		for _, a := range k.aliases {
			if a == arg {
				return k
			}
		}
	}
	return nil
}

func kindNames() []string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.plural)
	}
	return names
}

// object builds a view object from its parts.
func object(kind, name, ns string, created metav1.Time, labels map[string]string, spec, status any) *unstructured.Unstructured {
	meta := map[string]any{"name": name, "namespace": ns}
	if !created.IsZero() {
		meta["creationTimestamp"] = created.UTC().Format(time.RFC3339)
	}
	if len(labels) > 0 {
		l := map[string]any{}
		for k, v := range labels {
			l[k] = v
		}
		meta["labels"] = l
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": viewAPIVersion,
		"kind":       kind,
		"metadata":   meta,
		"spec":       toMap(spec),
		"status":     toMap(status),
	}}
}

// toMap converts a struct to the JSON-shaped map unstructured objects hold.
func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return map[string]any{}
	}
	return m
}

func age(now time.Time, t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func slotsCell(inUse int32, limit *int32) string {
	if limit == nil {
		return fmt.Sprint(inUse)
	}
	return fmt.Sprintf("%d/%d", inUse, *limit)
}

// runDuration is how long the run ran: start to end, or to now.
func runDuration(r *project.RunInfo, now time.Time) string {
	st := r.Status
	if st.StartTime == nil {
		return ""
	}
	end := now
	if st.EndTime != nil {
		end = st.EndTime.Time
	}
	if end.Before(st.StartTime.Time) {
		return "0s"
	}
	return duration.HumanDuration(end.Sub(st.StartTime.Time))
}

// runQueue is pool/queue the run holds, or would use.
func (s *snapshot) runQueue(r *project.RunInfo) (pool, queue string) {
	if r.Status.Pool != "" {
		return r.Status.Pool, r.Status.Queue
	}
	if d := s.installed.Deployments[r.Deployment()]; d != nil {
		return d.Pool, d.Queue
	}
	return "", ""
}

// runStatusView is a run's status as `get -o json` shows it: the stored
// status plus whether it is Late.
type runStatusView struct {
	v1alpha1.RunStatus `json:",inline"`
	Late               bool `json:"late,omitempty"`
	// CancelRequested: a cancel request names this run (by name and UID)
	// and the reconciler has not carried it out yet.
	CancelRequested bool `json:"cancelRequested,omitempty"`
}

// cancelRequested says whether an unfinished run has a cancel request.
func (s *snapshot) cancelRequested(r *project.RunInfo) bool {
	return !r.State().Final() && s.cancels.forRun(r.ConfigMap) != nil
}

func runObject(s *snapshot, r *project.RunInfo) *unstructured.Unstructured {
	st := *r.Status
	st.State = r.State()
	var spec any = r.Request
	if r.Request == nil {
		spec = map[string]any{"invalid": r.RequestErr.Error()}
	}
	return object("Run", r.ConfigMap.Name, r.ConfigMap.Namespace, r.ConfigMap.CreationTimestamp, r.ConfigMap.Labels,
		spec, runStatusView{RunStatus: st, Late: r.DisplayState(s.now) == v1alpha1.StateLate, CancelRequested: s.cancelRequested(r)})
}

func runView(s *snapshot, r *project.RunInfo) view {
	pool, queue := s.runQueue(r)
	q := ""
	if pool != "" {
		q = pool + "/" + queue
	}
	sched := ""
	if t := r.ScheduledTime(); !t.IsZero() {
		sched = t.UTC().Format(time.RFC3339)
	}
	tags := r.Status.Tags
	if len(tags) == 0 && r.Request != nil {
		tags = r.Request.Tags
	}
	state := string(r.DisplayState(s.now))
	if s.cancelRequested(r) {
		state += " (cancel requested)"
	}
	return view{
		name:   r.ConfigMap.Name,
		labels: r.ConfigMap.Labels,
		cells: []any{
			r.ConfigMap.Name, orNone(r.Deployment()), state, orNone(q),
			age(s.now, r.ConfigMap.CreationTimestamp), runDuration(r, s.now),
			orNone(r.Status.Reason), orNone(r.Status.JobName), orNone(strings.Join(tags, ",")), sched,
			orNone(parentName(r)),
		},
		obj: runObject(s, r),
	}
}

// parentName is the run that started r, as its request says ("" for
// none); the reconciler rejects a run whose parent it cannot accept.
func parentName(r *project.RunInfo) string {
	if r.Request == nil || r.Request.Parent == nil {
		return ""
	}
	return r.Request.Parent.Run
}

// children are the runs that name r as their parent, by name and UID,
// oldest first.
func children(runs []*project.RunInfo, r *project.RunInfo) []*project.RunInfo {
	var out []*project.RunInfo
	for _, c := range runs {
		if c.Request != nil && c.Request.Parent.Is(r.ConfigMap) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].ConfigMap.CreationTimestamp.Before(&out[j].ConfigMap.CreationTimestamp)
	})
	return out
}

func runViews(s *snapshot) []view {
	out := make([]view, 0, len(s.runs))
	for _, r := range s.runs {
		out = append(out, runView(s, r))
	}
	return out
}

// lastRuns maps each deployment to its newest run.
func (s *snapshot) lastRuns() map[string]*project.RunInfo {
	last := map[string]*project.RunInfo{}
	for _, r := range s.runs { // oldest first
		last[r.Deployment()] = r
	}
	return last
}

// scheduleString shows a deployment's schedules compactly.
func scheduleString(d *v1alpha1.Deployment) string {
	var parts []string
	for _, sc := range d.Schedules {
		var p string
		switch {
		case sc.Interval != nil:
			p = "every " + sc.Interval.Duration.String()
		default:
			p = sc.Cron
		}
		if sc.Timezone != "" {
			p += " (" + sc.Timezone + ")"
		}
		if sc.Active != nil && !*sc.Active {
			p += " [inactive]"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// nextRun is the earliest next tick of the deployment's active schedules.
func nextRun(d *v1alpha1.Deployment, now time.Time) time.Time {
	var next time.Time
	for _, sc := range d.Schedules {
		if sc.Active != nil && !*sc.Active {
			continue
		}
		_, n, err := project.Ticks(sc, now, now)
		if err != nil || n.IsZero() {
			continue
		}
		if next.IsZero() || n.Before(next) {
			next = n
		}
	}
	return next
}

type deploymentStatusView struct {
	Paused      pauseState   `json:"paused"`
	SlotsInUse  int32        `json:"slotsInUse"`
	Waiting     int32        `json:"waiting"`
	LastRun     *lastRunView `json:"lastRun,omitempty"`
	NextRunTime *metav1.Time `json:"nextRunTime,omitempty"`
}

type lastRunView struct {
	Name    string            `json:"name"`
	State   v1alpha1.RunState `json:"state"`
	Created metav1.Time       `json:"creationTimestamp"`
}

func deploymentViews(s *snapshot) []view {
	last := s.lastRuns()
	var out []view
	for _, name := range s.installed.DeploymentNames() {
		d := s.installed.Deployments[name]
		st := deploymentStatusView{
			Paused:     s.deploymentPause(d),
			SlotsInUse: s.usage.Deployment[name],
			Waiting:    s.usage.WaitingDeployment[name],
		}
		lastCell := "<none>"
		if r := last[name]; r != nil {
			st.LastRun = &lastRunView{Name: r.ConfigMap.Name, State: r.DisplayState(s.now), Created: r.ConfigMap.CreationTimestamp}
			lastCell = fmt.Sprintf("%s (%s)", r.DisplayState(s.now), age(s.now, r.ConfigMap.CreationTimestamp))
		}
		nextCell := "<none>"
		if n := nextRun(&d.Deployment, s.now); !n.IsZero() {
			st.NextRunTime = &metav1.Time{Time: n}
			nextCell = n.UTC().Format(time.RFC3339)
		}
		out = append(out, view{
			name:   name,
			labels: d.ConfigMap.Labels,
			cells: []any{
				name, d.Pool, d.Queue, orNone(scheduleString(&d.Deployment)), st.Paused.String(),
				slotsCell(st.SlotsInUse, d.ConcurrencyLimit), lastCell, nextCell,
				fmt.Sprint(st.Waiting), orNone(strings.Join(d.Tags, ",")), d.Entrypoint,
			},
			obj: object("Deployment", name, s.ns, d.ConfigMap.CreationTimestamp, d.ConfigMap.Labels, d.Deployment, st),
		})
	}
	return out
}

type poolStatusView struct {
	Paused       pauseState `json:"paused"`
	SlotsInUse   int32      `json:"slotsInUse"`
	Waiting      int32      `json:"waiting"`
	PausedQueues []string   `json:"pausedQueues,omitempty"`
}

// deploymentsIn names the deployments of a pool (and queue, when given).
func (s *snapshot) deploymentsIn(pool, queue string) []string {
	var names []string
	for _, n := range s.installed.DeploymentNames() {
		d := s.installed.Deployments[n]
		if d.Pool == pool && (queue == "" || d.Queue == queue) {
			names = append(names, n)
		}
	}
	return names
}

func poolViews(s *snapshot) []view {
	var out []view
	for _, name := range s.installed.PoolNames() {
		p := s.installed.Pools[name]
		st := poolStatusView{
			Paused:     poolPause(p),
			SlotsInUse: s.usage.Pool[name],
			Waiting:    s.usage.WaitingPool[name],
		}
		var queues []string
		for _, q := range p.Queues {
			queues = append(queues, q.Name)
			if p.QueuePaused(q.Name) {
				st.PausedQueues = append(st.PausedQueues, q.Name)
			}
		}
		out = append(out, view{
			name:   name,
			labels: p.ConfigMap.Labels,
			cells: []any{
				name, st.Paused.String(), slotsCell(st.SlotsInUse, p.ConcurrencyLimit), fmt.Sprint(st.Waiting),
				orNone(strings.Join(queues, ",")), orNone(strings.Join(s.deploymentsIn(name, ""), ",")),
			},
			obj: object("Pool", name, s.ns, p.ConfigMap.CreationTimestamp, p.ConfigMap.Labels, p.Pool, st),
		})
	}
	return out
}

type queueSpecView struct {
	Pool string `json:"pool"`
	v1alpha1.Queue
}

type queueStatusView struct {
	Paused     pauseState `json:"paused"`
	SlotsInUse int32      `json:"slotsInUse"`
	Waiting    int32      `json:"waiting"`
}

// queueRow is one queue as get and describe show it.
type queueRow struct {
	name   string // pool/queue
	pool   *project.InstalledPool
	queue  *v1alpha1.Queue
	status queueStatusView
}

func queueRows(s *snapshot) []queueRow {
	var out []queueRow
	for _, name := range s.installed.QueueNames() {
		poolName, qName, _ := strings.Cut(name, "/")
		p := s.installed.Pools[poolName]
		q := p.Queue(qName)
		out = append(out, queueRow{name: name, pool: p, queue: q, status: queueStatusView{
			Paused: queuePause(p, q), SlotsInUse: s.usage.Queue[name], Waiting: s.usage.WaitingQueue[name],
		}})
	}
	return out
}

func queueViews(s *snapshot) []view {
	var out []view
	for _, r := range queueRows(s) {
		st := r.status
		labels := map[string]string{v1alpha1.LabelPool: r.pool.Name, v1alpha1.LabelQueue: r.queue.Name}
		out = append(out, view{
			name:   r.name,
			labels: labels,
			cells: []any{
				r.name, fmt.Sprint(r.queue.Priority), st.Paused.String(), slotsCell(st.SlotsInUse, r.queue.ConcurrencyLimit), fmt.Sprint(st.Waiting),
			},
			obj: object("Queue", r.name, s.ns, r.pool.ConfigMap.CreationTimestamp, labels, queueSpecView{Pool: r.pool.Name, Queue: *r.queue}, st),
		})
	}
	return out
}

type limitStatusView struct {
	SlotsInUse int32 `json:"slotsInUse"`
}

func limitViews(s *snapshot) []view {
	tags := make([]string, 0, len(s.installed.TagLimits))
	for t := range s.installed.TagLimits {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	var out []view
	for _, tag := range tags {
		limit := s.installed.TagLimits[tag]
		var deps []string
		for _, n := range s.installed.DeploymentNames() {
			for _, t := range s.installed.Deployments[n].Tags {
				if t == tag {
					deps = append(deps, n)
				}
			}
		}
		st := limitStatusView{SlotsInUse: s.usage.Tag[tag]}
		out = append(out, view{
			name:  tag,
			cells: []any{tag, slotsCell(st.SlotsInUse, &limit), orNone(strings.Join(deps, ","))},
			obj:   object("ConcurrencyLimit", tag, s.ns, metav1.Time{}, nil, v1alpha1.TagLimit{Tag: tag, Limit: limit}, st),
		})
	}
	return out
}

// table builds the metav1.Table the cli-runtime table printer prints.
func table(k *kindSpec, views []view) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: k.columns}
	for _, v := range views {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: v.cells, Object: runtime.RawExtension{Object: v.obj}})
	}
	return t
}

// list wraps view objects as kubectl wraps several objects: kind List.
func list(views []view) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
	for _, v := range views {
		l.Items = append(l.Items, *v.obj)
	}
	return l
}
