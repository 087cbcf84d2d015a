package plugin

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/describe"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
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
var describeKinds = []*kindSpec{runKind, deploymentKind, poolKind, queueKind, limitKind}

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
	tw := tabwriter.NewWriter(o.Out, 0, 8, 2, ' ', 0)
	w := describe.NewPrefixWriter(tw)
	switch o.kind {
	case runKind:
		r, err := o.client.RunIn(s, o.name)
		if err != nil {
			return err
		}
		printRun(w, o.client.RunDetails(ctx, s, r), s.Now)
	case deploymentKind:
		d, err := o.client.Deployment(s.Installed, o.name)
		if err != nil {
			return err
		}
		v, _ := s.ViewDeployment(d.FullName())
		printDeployment(w, s, &v)
	case poolKind:
		p, err := o.client.Pool(s.Installed, o.name)
		if err != nil {
			return err
		}
		v, _ := s.ViewPool(p.Name)
		printPool(w, s, &v)
	case queueKind:
		p, q, err := o.client.Queue(s.Installed, o.name)
		if err != nil {
			return err
		}
		v, _ := s.ViewQueue(p.Name + "/" + q)
		printQueue(w, s, &v)
	case limitKind:
		if _, err := o.client.TagLimit(s.Installed, o.name); err != nil {
			return err
		}
		v, _ := s.ViewTagLimit(o.name)
		printTagLimit(w, s, &v)
	}
	return tw.Flush()
}

// recentRuns is how many of a deployment's finished runs its description
// reads: it lists its ten newest runs.
const recentRuns = 10

// snapshot reads what the description shows. A deployment's reads every
// run not finished (its slots, its place in the pool's lines) and only its
// own newest finished runs, not all that retention keeps.
func (o *DescribeOptions) snapshot(ctx context.Context) (*client.Snapshot, error) {
	if o.kind != deploymentKind {
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
	return o.client.RecentSnapshot(ctx, client.RecentOptions{Finished: recentRuns, Selector: sel, ChunkSize: 500, Installed: in})
}

// field writes "Label:<tab>value" at an indentation level.
func field(w describe.PrefixWriter, level int, label, format string, args ...any) {
	w.Write(level, "%s\t%s\n", label, fmt.Sprintf(format, args...))
}

// tableSection writes a label with a table's header under it, and returns
// true for the caller to write the rows; with no rows it writes
// "Label:<tab><none>" and returns false.
func tableSection(w describe.PrefixWriter, level int, label, header string, rows int) bool {
	if rows == 0 {
		field(w, level, label+":", "<none>")
		return false
	}
	w.Write(level, "%s:\n", label)
	w.Write(level+1, "%s\n", header)
	return true
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

// runOverridesText lists the job variables a run may set.
func runOverridesText(names []string) string {
	if len(names) == 0 {
		return "<none> (a run may set no job variables)"
	}
	return strings.Join(names, ", ")
}
