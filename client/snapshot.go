package client

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Snapshot is the project at one moment, as every client view is drawn
// from it: the installed config, every run, the slots they hold and the
// pending cancel requests. It is assembled in one place (Assemble) from
// a list (Client.Snapshot) or from watches (Watch.Snapshot), and is read
// only once assembled.
type Snapshot struct {
	Namespace string
	Now       time.Time
	Installed *project.Installed
	Runs      []*RunInfo // oldest first
	Usage     *Usage
	Cancels   CancelRequests
	// Waits say, for each waiting run by name, what the reconciler's
	// dispatch pass would decide for it now (planner.Explain): what it
	// waits on and its place in line.
	Waits map[string]planner.Waiting
	// Warnings say what could not be read beside the runs, and so what
	// the views may not show, for a command to print to its error
	// stream the way kubectl prints the API server's warnings.
	Warnings []string

	byName map[string]*RunInfo
}

// Assemble builds a snapshot from what was read.
func Assemble(ns string, now time.Time, in *project.Installed, runs []*RunInfo, cancels CancelRequests) *Snapshot {
	if in == nil {
		in = project.ReadConfig(nil)
	}
	if cancels == nil {
		cancels = CancelRequests{}
	}
	s := &Snapshot{Namespace: ns, Now: now, Installed: in, Runs: runs, Cancels: cancels, byName: make(map[string]*RunInfo, len(runs))}
	for _, r := range runs {
		s.byName[r.ConfigMap.Name] = r
	}
	s.Usage = CountSlots(runs, in)
	cms := make([]*corev1.ConfigMap, len(runs))
	for i, r := range runs {
		cms[i] = r.ConfigMap
	}
	s.Waits = planner.Explain(planner.ExplainInput{
		Now: now, Namespace: ns, Config: in, Runs: cms, Held: s.Usage.InUse, Starts: s.Usage.Starts,
		CancelAsked: func(cm *corev1.ConfigMap) bool { return cancelAsked(s.byName[cm.Name], cancels) != nil },
	})
	return s
}

// NewSnapshot assembles a snapshot from the namespace's config, run and
// cancel request ConfigMaps.
func NewSnapshot(ns string, now time.Time, config, runs, cancels []corev1.ConfigMap) *Snapshot {
	return Assemble(ns, now, project.ReadInstalled(config), ReadRuns(runs), ReadCancelRequests(cancels))
}

// Run is the run of that name, or nil.
func (s *Snapshot) Run(name string) *RunInfo { return s.byName[name] }

// With is the snapshot with r in place of the run of its name (or added):
// a run just created, or as last seen by a watch.
func (s *Snapshot) With(r *RunInfo) *Snapshot {
	runs := make([]*RunInfo, 0, len(s.Runs)+1)
	for _, o := range s.Runs {
		if o.ConfigMap.Name != r.ConfigMap.Name {
			runs = append(runs, o)
		}
	}
	runs = append(runs, r)
	out := Assemble(s.Namespace, s.Now, s.Installed, runs, s.Cancels)
	out.Warnings = s.Warnings
	return out
}

// Snapshot reads the namespace's project: the installed config (an error
// when none is installed), every run and the cancel requests, and the Jobs
// of the runs that may have started unbeknown to their status
// (withStartedFromAPI).
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	in, err := c.Installed(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := c.ListRuns(ctx)
	if err != nil {
		return nil, err
	}
	cancels, err := c.ListCancelRequests(ctx)
	if err != nil {
		return nil, err
	}
	return c.withStartedFromAPI(ctx, Assemble(c.ns, c.now(), in, runs, cancels)), nil
}

// Installed reads the project's config ConfigMaps and fails with a clear
// message when nothing is installed in the namespace.
func (c *Client) Installed(ctx context.Context) (*project.Installed, error) {
	items, err := c.listConfigMaps(ctx, v1alpha1.LabelConfig)
	if err != nil {
		return nil, err
	}
	in := project.ReadInstalled(items)
	if in.Empty() {
		return nil, c.notInstalled(ctx)
	}
	return in, nil
}

// ListRuns lists the namespace's runs, oldest first.
func (c *Client) ListRuns(ctx context.Context) ([]*RunInfo, error) {
	items, err := c.listConfigMaps(ctx, v1alpha1.LabelRun+"=true")
	if err != nil {
		return nil, err
	}
	return ReadRuns(items), nil
}

// listConfigMaps lists the namespace's ConfigMaps matching a selector.
func (c *Client) listConfigMaps(ctx context.Context, selector string) ([]corev1.ConfigMap, error) {
	list, err := c.kube.CoreV1().ConfigMaps(c.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, c.Explain(err, "list", "configmaps")
	}
	return list.Items, nil
}
