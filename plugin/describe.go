package plugin

import (
	"context"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/describe"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/printers"
)

var describeLong = templates.LongDesc(`
	Show a run, deployment, pool, queue or tag limit in detail.

	A run shows its state with reason and message, what it waits on and
	its place in line (as the reconciler's dispatch pass decides it),
	conditions, the parameters and job variables it resolved to, its Job
	and the states of its pods (why a pod waits: Unschedulable,
	ImagePullBackOff, ...), the end of the log saved for a Failed or Crashed
	run, and recent Events of the run, its Job and pods. A deployment shows
	its config, pause state, slots, schedules with their next times and its
	recent runs. A pool, queue or tag shows its limit, the runs holding its
	slots and for how long, and the runs waiting for one in the order they
	will get it; a pool also its queues and deployments.`)

var describeExample = templates.Examples(`
	kubectl flows describe run hello-default-x7k2p
	kubectl flows describe deployment hello/default
	kubectl flows describe pool kubernetes
	kubectl flows describe queue kubernetes/default
	kubectl flows describe tag database`)

// describeKinds are the kinds describe knows, by their get kind.
var describeKinds = []*printers.Kind{printers.RunKind, printers.DeploymentKind, printers.PoolKind, printers.QueueKind, printers.LimitKind}

// DescribeOptions is `kubectl flows describe`.
type DescribeOptions struct {
	kindArgs
	client *client.Client
	f      *Factory
	genericiooptions.IOStreams
}

// NewCmdDescribe is `kubectl flows describe`.
func NewCmdDescribe(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DescribeOptions{f: f, IOStreams: streams}
	return &cobra.Command{
		Use:                   "describe " + kindChoice(describeKinds) + " NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Show details of a run, deployment, pool, queue or tag limit",
		Long:                  describeLong,
		Example:               describeExample,
		ValidArgsFunction:     completeKindName(f, "run", "deployment", "pool", "queue", "tag"),
		RunE:                  runE(o),
	}
}

// Complete finds the kind and the client.
func (o *DescribeOptions) Complete(args []string) error {
	o.complete(args)
	var err error
	o.client, err = o.f.FlowsClient()
	return err
}

// Validate checks the kind.
func (o *DescribeOptions) Validate() error { return o.validate("describe", describeKinds) }

// Run reads everything the description shows first, then prints it, so
// the printing is a pure function of what was read.
func (o *DescribeOptions) Run(ctx context.Context) error {
	s, err := o.snapshot(ctx)
	if err != nil {
		return err
	}
	printWarnings(o.ErrOut, s)
	tw := tabwriter.NewWriter(o.Out, 0, 8, 2, ' ', 0)
	w := describe.NewPrefixWriter(tw)
	switch o.kind {
	case printers.RunKind:
		r, err := o.client.RunIn(s, o.name)
		if err != nil {
			return err
		}
		printers.DescribeRun(w, o.client.RunDetails(ctx, s, r), s.Now)
	case printers.DeploymentKind:
		d, err := o.client.Deployment(s.Installed, o.name)
		if err != nil {
			return err
		}
		v, _ := s.ViewDeployment(d.FullName())
		printers.DescribeDeployment(w, s, &v)
	case printers.PoolKind:
		p, err := o.client.Pool(s.Installed, o.name)
		if err != nil {
			return err
		}
		v, _ := s.ViewPool(p.Name)
		printers.DescribePool(w, s, &v)
	case printers.QueueKind:
		p, q, err := o.client.Queue(s.Installed, o.name)
		if err != nil {
			return err
		}
		v, _ := s.ViewQueue(p.Name + "/" + q)
		printers.DescribeQueue(w, s, &v)
	case printers.LimitKind:
		if _, err := o.client.TagLimit(s.Installed, o.name); err != nil {
			return err
		}
		v, _ := s.ViewTagLimit(o.name)
		printers.DescribeTagLimit(w, s, &v)
	}
	return tw.Flush()
}

// snapshot reads what the description shows. A deployment's reads every
// run not finished (its slots, its place in the pool's lines) and only its
// own newest finished runs, not all that retention keeps.
func (o *DescribeOptions) snapshot(ctx context.Context) (*client.Snapshot, error) {
	if o.kind != printers.DeploymentKind {
		return o.client.Snapshot(ctx)
	}
	in, err := o.client.Installed(ctx)
	if err != nil {
		return nil, err
	}
	d, err := o.client.Deployment(in, o.name)
	if err != nil {
		return nil, err
	}
	sel := labels.SelectorFromSet(labels.Set{v1alpha1.LabelDeployment: v1alpha1.DeploymentLabelValue(d.Flow, d.Name)})
	return o.client.RecentSnapshot(ctx, client.RecentOptions{Finished: printers.RecentRuns, Selector: sel, ChunkSize: 500, Installed: in})
}
