package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/dashboard"
	"github.com/kubectl-flows/kubectl-flows/internal/podstatus"
	"github.com/kubectl-flows/kubectl-flows/project"
)

var dashboardLong = templates.LongDesc(`
	Serve a live web view of the project's runs, queues, limits and
	deployments on this machine, and print its URL. It stops on Ctrl-C.

	The dashboard reads the cluster with your kubeconfig, through watches,
	so it shows what you may see and its buttons do what you may do: Run
	and Cancel appear only when your account may create or cancel runs,
	and the API server decides each request. Nothing is installed in the
	cluster.

	It listens on 127.0.0.1 unless --address says otherwise. Forms carry a
	token made when the command starts, so other web sites cannot post to
	it.`)

var dashboardExample = templates.Examples(`
	# Serve on a free port of 127.0.0.1 and open a browser
	kubectl flows dashboard --open

	# A fixed port
	kubectl flows dashboard -n flows --port 8080`)

// DashboardOptions is `kubectl flows dashboard`.
type DashboardOptions struct {
	Address string
	Port    int
	Open    bool
	f       *Factory
	genericiooptions.IOStreams
}

// NewCmdDashboard is `kubectl flows dashboard`.
func NewCmdDashboard(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DashboardOptions{f: f, IOStreams: streams, Address: "127.0.0.1"}
	cmd := &cobra.Command{
		Use:                   "dashboard [--port N] [--address ADDR] [--open]",
		DisableFlagsInUseLine: true,
		Short:                 "Serve a live web view of runs, queues, limits and deployments",
		Long:                  dashboardLong,
		Example:               dashboardExample,
		Args:                  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.Address, "address", o.Address, "address to listen on; anything but loopback lets other machines reach it")
	cmd.Flags().IntVar(&o.Port, "port", 0, "port to listen on; 0 picks a free one")
	cmd.Flags().BoolVar(&o.Open, "open", false, "open the dashboard in a browser")
	return cmd
}

// Validate checks the flags.
func (o *DashboardOptions) Validate() error {
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("--port %d: want 0 to 65535", o.Port)
	}
	if net.ParseIP(o.Address) == nil && o.Address != "localhost" {
		return fmt.Errorf("--address %q: want an IP address such as 127.0.0.1", o.Address)
	}
	return nil
}

// Run watches the project, serves, and stops when ctx ends.
func (o *DashboardOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := o.f.readInstalled(ctx); err != nil {
		return err
	}
	c, err := o.f.KubeClient()
	if err != nil {
		return err
	}
	ns, _ := o.f.Namespace()
	b := &dashboardBackend{f: o.f, ns: ns,
		cfg:  configMapInformer(c, ns, v1alpha1.LabelConfig),
		runs: configMapInformer(c, ns, v1alpha1.LabelRun+"=true"),
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.Address, fmt.Sprint(o.Port)))
	if err != nil {
		return fmt.Errorf("listening on %s port %d: %w", o.Address, o.Port, err)
	}
	srv, err := dashboard.New(b, ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { srv.Notify() },
		UpdateFunc: func(any, any) { srv.Notify() },
		DeleteFunc: func(any) { srv.Notify() },
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, inf := range []cache.SharedIndexInformer{b.cfg, b.runs} {
		_, _ = inf.AddEventHandler(handler)
		wg.Add(1)
		go func() { defer wg.Done(); inf.RunWithContext(ctx) }()
	}
	if !cache.WaitForCacheSync(ctx.Done(), b.cfg.HasSynced, b.runs.HasSynced) {
		ln.Close()
		return ctx.Err()
	}
	// Pods and Jobs change a run page (waiting reasons) before the run's
	// own state does: watch them too when the user may.
	if o.f.canI(ctx, "watch", "pods") && o.f.canI(ctx, "watch", "jobs") {
		for _, inf := range []cache.SharedIndexInformer{podInformer(c, ns), jobInformer(c, ns)} {
			_, _ = inf.AddEventHandler(handler)
			wg.Add(1)
			go func() { defer wg.Done(); inf.RunWithContext(ctx) }()
		}
	}
	wg.Add(1)
	go func() { defer wg.Done(); srv.Tick(ctx, 5*time.Second) }()

	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(o.Out, "kubectl flows dashboard for namespace %s: %s\n(Ctrl-C stops it)\n", ns, url)
	if o.Open {
		openBrowser(url)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer scancel()
		_ = hs.Shutdown(sctx)
		return nil
	case err := <-errc:
		cancel()
		return err
	}
}

func openBrowser(url string) {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name = "explorer"
	}
	_ = exec.Command(name, url).Start()
}

// dashboardBackend is the dashboard's view of the cluster: the watched
// config and run ConfigMaps read with the same read model as `get`, and
// the same functions as `describe`, `run`, `cancel` and `logs`.
type dashboardBackend struct {
	f         *Factory
	ns        string
	cfg, runs cache.SharedIndexInformer

	permMu   sync.Mutex
	perm     dashboard.Permissions
	permTime time.Time
}

func (b *dashboardBackend) snapshot() *snapshot {
	cms := storeConfigMaps(b.cfg.GetStore())
	return newSnapshot(b.ns, b.f.now(), project.ReadInstalled(cms), readRuns(storeConfigMaps(b.runs.GetStore())))
}

// Snapshot builds the pages' model from the read model `get` prints.
func (b *dashboardBackend) Snapshot() *dashboard.Snapshot {
	s := b.snapshot()
	out := &dashboard.Snapshot{Namespace: s.ns, Now: s.now}
	for _, r := range s.runs {
		out.Runs = append(out.Runs, dashboardRun(s, r))
	}
	for _, v := range deploymentViews(s) {
		d := s.installed.Deployments[v.name]
		dv := dashboard.Deployment{
			Name: v.name, Description: d.Description, Pool: d.Pool, Queue: d.Queue, Tags: d.Tags,
			Paused: s.deploymentPause(d).String(), Limit: project.LimitString(d.ConcurrencyLimit),
			InUse: s.usage.Deployment[v.name], Waiting: s.usage.WaitingDeployment[v.name],
			Parameters: d.Parameters, Schema: d.ParameterSchema,
		}
		for _, sc := range d.Schedules {
			one := d.Deployment
			one.Schedules = []v1alpha1.Schedule{sc}
			ds := dashboard.Schedule{Text: scheduleString(&one), Active: sc.Active == nil || *sc.Active}
			if ds.Active {
				ds.Next = nextRuns(sc, s.now, 3)
			}
			dv.Schedules = append(dv.Schedules, ds)
		}
		out.Deployments = append(out.Deployments, dv)
	}
	for _, v := range poolViews(s) {
		p := s.installed.Pools[v.name]
		out.Limits = append(out.Limits, dashboard.Limit{Kind: "pool", Name: v.name, InUse: s.usage.Pool[v.name], Limit: p.ConcurrencyLimit,
			Waiting: s.usage.WaitingPool[v.name], Paused: poolPause(p).String()})
	}
	for _, v := range queueViews(s) {
		poolName, qName, _ := strings.Cut(v.name, "/")
		q := s.installed.Pools[poolName].Queue(qName)
		out.Limits = append(out.Limits, dashboard.Limit{Kind: "queue", Name: v.name, InUse: s.usage.Queue[v.name], Limit: q.ConcurrencyLimit,
			Waiting: s.usage.WaitingQueue[v.name], Paused: fmt.Sprint(v.cells[2])})
	}
	for _, name := range s.installed.DeploymentNames() {
		d := s.installed.Deployments[name]
		if d.ConcurrencyLimit == nil {
			continue
		}
		out.Limits = append(out.Limits, dashboard.Limit{Kind: "deployment", Name: name, InUse: s.usage.Deployment[name], Limit: d.ConcurrencyLimit,
			Waiting: s.usage.WaitingDeployment[name], Paused: s.deploymentPause(d).String()})
	}
	for _, v := range limitViews(s) {
		l := s.installed.TagLimits[v.name]
		out.Limits = append(out.Limits, dashboard.Limit{Kind: "tag", Name: v.name, InUse: s.usage.Tag[v.name], Limit: &l, Waiting: s.usage.WaitingTag[v.name]})
	}
	for _, err := range s.installed.Errors {
		out.Errors = append(out.Errors, err.Error())
	}
	return out
}

// nextRuns is a schedule's next n fire times.
func nextRuns(sc v1alpha1.Schedule, now time.Time, n int) []time.Time {
	var out []time.Time
	t := now
	for len(out) < n {
		_, next, err := project.Ticks(sc, t, t)
		if err != nil || next.IsZero() {
			break
		}
		out = append(out, next)
		t = next
	}
	return out
}

// dashboardRun is a run's row, with the limit it waits for.
func dashboardRun(s *snapshot, r *project.RunInfo) dashboard.Run {
	st := r.Status
	pool, queue := s.runQueue(r)
	dr := dashboard.Run{
		Name: r.ConfigMap.Name, Deployment: r.Deployment(), State: string(r.DisplayState(s.now)),
		Reason: st.Reason, Message: st.Message, Created: r.ConfigMap.CreationTimestamp.Time, Scheduled: r.ScheduledTime(),
		Age: age(s.now, r.ConfigMap.CreationTimestamp), Duration: runDuration(r, s.now), Final: r.State().Final(),
	}
	if pool != "" {
		dr.Queue = pool + "/" + queue
	}
	dr.Tags = st.Tags
	if len(dr.Tags) == 0 {
		dr.Tags = r.WaitingTags(s.installed)
	}
	if st.PendingTime != nil {
		dr.Start = st.PendingTime.Time
	}
	if st.EndTime != nil {
		dr.End = st.EndTime.Time
	}
	if st.StartTime != nil {
		end := s.now
		if st.EndTime != nil {
			end = st.EndTime.Time
		}
		dr.Seconds = end.Sub(st.StartTime.Time).Seconds()
	}
	if r.Waiting() {
		dr.Blocking = blockingLimit(s, r)
	}
	return dr
}

// blockingLimit is the limit a waiting run waits for, decided as the
// reconciler decides it, from the slots in use now.
func blockingLimit(s *snapshot, r *project.RunInfo) string {
	d := s.installed.Deployments[r.Deployment()]
	if d == nil {
		return ""
	}
	p := s.installed.Pools[d.Pool]
	if p == nil {
		return ""
	}
	limit, _ := project.BlockingLimit(&p.Pool, &d.Deployment, r.WaitingTags(s.installed), s.installed.TagLimits, s.usage.InUse)
	return limit
}

// RunPage is what `describe run` shows, as data.
func (b *dashboardBackend) RunPage(ctx context.Context, name string) (*dashboard.RunPage, error) {
	obj, ok, _ := b.runs.GetStore().GetByKey(b.ns + "/" + name)
	if !ok {
		return nil, fmt.Errorf("run %q in namespace %q: %w", name, b.ns, dashboard.ErrNotFound)
	}
	s := b.snapshot()
	r := project.ReadRun(obj.(*corev1.ConfigMap))
	st := r.Status
	p := &dashboard.RunPage{Run: dashboardRun(s, r), LogTail: st.LogTail}
	p.History = append(p.History, dashboard.StateTime{State: "Created", Time: r.ConfigMap.CreationTimestamp.Time})
	p.History = append(p.History, dashboard.StateTime{State: string(v1alpha1.StateScheduled), Time: r.ScheduledTime()})
	if st.PendingTime != nil {
		p.History = append(p.History, dashboard.StateTime{State: string(v1alpha1.StatePending), Time: st.PendingTime.Time})
	}
	if st.StartTime != nil {
		p.History = append(p.History, dashboard.StateTime{State: string(v1alpha1.StateRunning), Time: st.StartTime.Time})
	}
	if st.EndTime != nil {
		p.History = append(p.History, dashboard.StateTime{State: string(r.State()), Time: st.EndTime.Time})
	}
	for _, c := range st.Conditions {
		p.Conditions = append(p.Conditions, dashboard.Condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message})
	}
	params, jobVars, from := st.Parameters, st.JobVariables, "resolved"
	if params == nil && jobVars == nil && r.Request != nil {
		params, jobVars, from = r.Request.Parameters, r.Request.JobVariables, "requested"
	}
	p.ParamsFrom, p.Parameters, p.JobVariables = from, yamlText(params), yamlText(jobVars)
	if r.Request != nil {
		p.Parameterize = r.Request.Parameters // Run again asks what this run asked
	}
	if r.RequestErr != nil {
		p.RequestError = r.RequestErr.Error()
	}
	if v, ok := r.ConfigMap.Annotations[v1alpha1.AnnotationCancel]; ok && !r.State().Final() {
		p.CancelAsked = v
	}
	if p.CancelAsked == "" && !r.State().Final() {
		if cancels, err := b.f.listCancelRequests(ctx); err == nil {
			if req := cancels.forRun(r.ConfigMap); req != nil {
				p.CancelAsked = req.CreationTimestamp.UTC().Format(time.RFC3339)
			}
		}
	}
	fam := familyOf(r, s.runs, s.now)
	if fam.parent != nil {
		p.Parent, p.ParentState = fam.parent.Run, fam.parentState
	}
	for _, c := range fam.children {
		p.Children = append(p.Children, dashboardRun(s, c))
	}
	objs, err := b.f.readRunDetails(ctx, r)
	if err != nil {
		return nil, err
	}
	if objs.job != nil {
		p.Job = &dashboard.Job{Name: objs.job.Name, Status: jobStatusText(objs.job)}
	}
	p.JobError, p.PodsError, p.EventsError = errText(objs.jobErr), errText(objs.podsErr), errText(objs.eventsErr)
	for i := range objs.pods {
		pod := &objs.pods[i]
		p.Pods = append(p.Pods, dashboard.Pod{Name: pod.Name, Phase: string(pod.Status.Phase), Node: orNone(pod.Spec.NodeName), Reason: podstatus.Summary(pod), Age: age(s.now, pod.CreationTimestamp)})
	}
	for _, e := range objs.events {
		p.Events = append(p.Events, dashboard.Event{Type: e.Type, Reason: e.Reason, Age: age(s.now, metav1.NewTime(eventTime(e))), From: eventSource(e),
			Object: strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name, Message: strings.TrimSpace(e.Message)})
	}
	return p, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Submit is `kubectl flows run DEPLOYMENT -p ...`, through submitRun.
func (b *dashboardBackend) Submit(ctx context.Context, deployment string, params map[string]any) (string, error) {
	s := b.snapshot()
	d, err := b.f.deployment(s.installed, deployment)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, dashboard.ErrNotFound)
	}
	req := &v1alpha1.RunRequest{Deployment: d.FullName()}
	if len(params) > 0 {
		req.Parameters = params
	}
	cm, err := submitRun(ctx, b.f, s.installed, d, req, "", true)
	if ExitCode(err) == ExitRejected {
		return "", &dashboard.InvalidError{Err: err}
	}
	if err != nil {
		return "", err
	}
	return cm.Name, nil
}

// Cancel is `kubectl flows cancel RUN`, through requestCancel.
func (b *dashboardBackend) Cancel(ctx context.Context, name string) error {
	obj, ok, _ := b.runs.GetStore().GetByKey(b.ns + "/" + name)
	if !ok {
		return fmt.Errorf("run %q: %w", name, dashboard.ErrNotFound)
	}
	r := project.ReadRun(obj.(*corev1.ConfigMap))
	if r.State().Final() {
		return &dashboard.InvalidError{Err: fmt.Errorf("run %s already ended %s", name, r.State())}
	}
	pending, err := b.f.listCancelRequests(ctx)
	if err != nil {
		return err
	}
	return requestCancel(ctx, b.f, r, pending)
}

// StreamLog is `kubectl flows logs RUN -f --tail 200`.
func (b *dashboardBackend) StreamLog(ctx context.Context, run string, w io.Writer) error {
	o := &LogsOptions{Follow: true, Tail: 200, run: run, f: b.f, IOStreams: genericiooptions.IOStreams{Out: w, ErrOut: w}}
	err := o.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Permissions asks the API server (at most every 30 seconds) what the
// user may do.
func (b *dashboardBackend) Permissions(ctx context.Context) dashboard.Permissions {
	b.permMu.Lock()
	defer b.permMu.Unlock()
	if time.Since(b.permTime) > 30*time.Second {
		b.perm = dashboard.Permissions{Submit: b.f.canSubmitRuns(ctx), Cancel: b.f.canCancelRuns(ctx)}
		b.permTime = time.Now()
	}
	return b.perm
}

// podInformer and jobInformer watch the pods and Jobs of runs (labelled
// with their run's Job name), only to tell open pages to refresh.
func podInformer(c kubernetes.Interface, ns string) cache.SharedIndexInformer {
	pods := c.CoreV1().Pods(ns)
	return cache.NewSharedIndexInformer(listWatch(pods.List, pods.Watch, withLabels(v1alpha1.LabelRunName)), &corev1.Pod{}, 0, cache.Indexers{})
}

func jobInformer(c kubernetes.Interface, ns string) cache.SharedIndexInformer {
	jobs := c.BatchV1().Jobs(ns)
	return cache.NewSharedIndexInformer(listWatch(jobs.List, jobs.Watch, withLabels(v1alpha1.LabelRunName)), &batchv1.Job{}, 0, cache.Indexers{})
}
