package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/internal/podstatus"
)

// ClusterBackend is the Backend of a real cluster: the client's watches
// of the namespace and its functions for runs.
type ClusterBackend struct {
	c *client.Client
	w *client.Watch

	permMu   sync.Mutex
	perm     Permissions
	permTime time.Time
}

// NewClusterBackend returns a backend over c; Start fills its caches.
func NewClusterBackend(c *client.Client) *ClusterBackend {
	return &ClusterBackend{c: c, w: c.Watch()}
}

// Start runs the watches until ctx ends (wg counts them), calling changed
// on every change, and waits for them to fill: false if ctx ended first.
// Pods and Jobs change a run page (waiting reasons) before the run's own
// state does: the watches take in the Jobs (Watch.Start), and the pods are
// watched too when the user may.
func (b *ClusterBackend) Start(ctx context.Context, wg *sync.WaitGroup, changed func()) bool {
	if !b.w.Start(ctx, wg, changed) {
		return false
	}
	if b.c.CanI(ctx, "watch", "pods") {
		b.c.WatchRunPods(ctx, wg, changed)
	}
	return true
}

// Snapshot is the pages' model: the client's views of its snapshot.
func (b *ClusterBackend) Snapshot() *Snapshot {
	s := b.w.Snapshot()
	out := &Snapshot{Namespace: s.Namespace, Now: s.Now, Runs: s.ViewRuns(), Deployments: s.ViewDeployments(), Limits: s.ViewLimits()}
	for _, err := range s.Installed.Errors {
		out.Errors = append(out.Errors, err.Error())
	}
	return out
}

// RunPage is what `describe run` shows, as data.
func (b *ClusterBackend) RunPage(ctx context.Context, name string) (*RunPage, error) {
	s := b.w.Snapshot()
	r := s.Run(name)
	if r == nil {
		return nil, fmt.Errorf("run %q in namespace %q: %w", name, s.Namespace, ErrNotFound)
	}
	return runPage(b.c.RunDetails(ctx, s, r), s.Now), nil
}

// runPage lays out a run's details for its page.
func runPage(d *client.RunDetails, now time.Time) *RunPage {
	v := d.View
	r := v.Info
	p := &RunPage{Run: v, Cancel: v.CancelText(now), Children: d.Children}
	p.History = append(p.History, StateTime{"Created", v.Created}, StateTime{string(v1alpha1.StateScheduled), v.Scheduled})
	for _, step := range []StateTime{{string(v1alpha1.StatePending), v.Pending}, {string(v1alpha1.StateRunning), v.Started}, {string(r.State()), v.Ended}} {
		if !step.Time.IsZero() {
			p.History = append(p.History, step)
		}
	}
	params, jobVars, from := r.Values()
	p.ParamsFrom, p.Parameters, p.JobVariables = from, client.YAMLText(params), client.YAMLText(jobVars)
	if r.Request != nil {
		p.Parameterize = r.Request.Parameters // Run again asks what this run asked
	}
	if d.Parent != nil {
		p.Parent, p.ParentState = d.Parent.Run, d.ParentState
	}
	o := d.Objects
	if o.Job != nil {
		p.Job = &Job{Name: o.Job.Name, Status: client.JobStatus(o.Job)}
	}
	p.JobError, p.PodsError, p.EventsError = errText(o.JobErr), errText(o.PodsErr), errText(o.EventsErr)
	for i := range o.Pods {
		pod := &o.Pods[i]
		node := pod.Spec.NodeName
		if node == "" {
			node = "<none>"
		}
		p.Pods = append(p.Pods, Pod{Name: pod.Name, Phase: string(pod.Status.Phase), Node: node, Reason: podstatus.Summary(pod), Age: client.Age(now, pod.CreationTimestamp.Time)})
	}
	for _, e := range o.Events {
		p.Events = append(p.Events, Event{Type: e.Type, Reason: e.Reason, Age: client.Age(now, client.EventTime(e)), From: client.EventSource(e),
			Object: strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name, Message: strings.TrimSpace(e.Message)})
	}
	return p
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Submit is `kubectl flows run DEPLOYMENT -p ...`, through client.Submit.
func (b *ClusterBackend) Submit(ctx context.Context, deployment string, params map[string]any) (string, error) {
	s := b.w.Snapshot()
	d, err := b.c.Deployment(s.Installed, deployment)
	if err != nil {
		return "", err
	}
	req := &v1alpha1.RunRequest{Deployment: d.FullName()}
	if len(params) > 0 {
		req.Parameters = params
	}
	cm, err := b.c.Submit(ctx, s.Installed, d, req, "", true)
	if err != nil {
		return "", err
	}
	b.awaitSeen(ctx, cm.Name)
	return cm.Name, nil
}

// seenWait bounds how long a submit waits for the watch to show its run.
const seenWait = 5 * time.Second

// awaitSeen waits, at most seenWait, until the watch shows the run just
// created: the form's answer sends the browser to the run's page, drawn
// from the watch, and a page drawn before the watch's event arrives would
// say the run does not exist. Past the bound the page is drawn anyway.
func (b *ClusterBackend) awaitSeen(ctx context.Context, name string) {
	_ = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, seenWait, true, func(context.Context) (bool, error) {
		_, ok := b.w.Run(name)
		return ok, nil
	})
}

// Cancel is `kubectl flows cancel RUN`, through client.Cancel.
func (b *ClusterBackend) Cancel(ctx context.Context, name string) error {
	r, ok := b.w.Run(name)
	if !ok {
		return fmt.Errorf("run %q: %w", name, ErrNotFound)
	}
	return b.c.Cancel(ctx, r, nil)
}

// StreamLog is `kubectl flows logs RUN -f --tail 200`.
func (b *ClusterBackend) StreamLog(ctx context.Context, name string, w io.Writer) error {
	r, err := b.c.GetRun(ctx, name)
	if err != nil {
		return err
	}
	err = b.c.Log(ctx, r, client.LogOptions{Follow: true, Tail: 200}, w, w)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Permissions asks the API server (at most every 30 seconds) what the
// user may do.
func (b *ClusterBackend) Permissions(ctx context.Context) Permissions {
	b.permMu.Lock()
	defer b.permMu.Unlock()
	if time.Since(b.permTime) > 30*time.Second {
		b.perm = Permissions{Submit: b.c.CanSubmit(ctx), Cancel: b.c.CanCancel(ctx)}
		b.permTime = time.Now()
	}
	return b.perm
}
