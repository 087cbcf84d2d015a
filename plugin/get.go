package plugin

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/printers"
	"github.com/kubectl-flows/kubectl-flows/project"
)

var getLong = templates.LongDesc(`
	Show runs, deployments, work pools, work queues or tag concurrency limits
	of the project installed in the namespace.

	Runs show their deployment, state (Late when Scheduled and more than 15s
	past their time; "Retrying (attempt 2 of 3, in 40s: Evicted)" while a
	retry is awaited; "(cancel requested)" until the reconciler carries a
	cancel out), queue, age, running time, and for a waiting run what it
	waits on (WAITING ON: a limit with no free slot, a pause, its scheduled
	time, a tag's start rate), as the reconciler's own dispatch rule
	decides it; -o wide adds its POSITION in line for that limit, the order
	in which runs start, and its ended ATTEMPTS. get runs reads every run
	not finished and only the newest --limit finished ones (100; 0 reads
	every run), which -l narrows on the server, and any run named.
	Pools and queues show
	slots in use against their limit, counted live from the runs; limits
	lists every pool, queue, deployment and tag limit with the runs
	waiting, how long the oldest holder has held its slot, and a tag's
	start rate with when it lets the next run start (-o wide names the
	holders); deployments show their schedules (with what sets one apart:
	inactive, its catch-up policy, its own parameters), pause state, last
	run and next scheduled time. With -w the command keeps printing rows as
	they change, like kubectl get -w.

	-o json|yaml|name|jsonpath print objects shaped like Kubernetes objects
	(apiVersion kubectl-flows.dev/v1alpha1, kinds Run, Deployment, Pool,
	Queue, ConcurrencyLimit). They are views assembled from the project's
	ConfigMaps; kubectl-flows installs no CRDs.`)

var getExample = templates.Examples(`
	# Runs, newest last
	kubectl flows get runs

	# Runs of one deployment that are running, with more columns
	kubectl flows get runs -l kubectl-flows.dev/deployment=hello.default,kubectl-flows.dev/state=Running -o wide

	# The newest 20 failed runs, beside every run not finished
	kubectl flows get runs -l kubectl-flows.dev/state=Failed --limit 20

	# Slots in use per queue, updated live
	kubectl flows get queues -w

	# Every limit, who holds its slots and for how long
	kubectl flows get limits -o wide

	# The state of one run, for a script
	kubectl flows get run hello-default-x7k2p -o jsonpath='{.status.state}'`)

// GetOptions is `kubectl flows get`.
type GetOptions struct {
	PrintFlags *genericclioptions.PrintFlags
	Selector   string
	Watch      bool
	NoHeaders  bool
	// Limit is how many finished runs get runs shows, the newest; 0 all.
	Limit     int
	ChunkSize int64

	args     []string
	kind     *printers.Kind
	names    []string
	selector labels.Selector
	print    cliprinters.ResourcePrinter
	client   *client.Client

	f *Factory
	genericiooptions.IOStreams
}

// NewCmdGet is `kubectl flows get`.
func NewCmdGet(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GetOptions{PrintFlags: genericclioptions.NewPrintFlags(""), f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "get (runs|deployments|pools|queues|limits) [NAME...] [-l selector] [-w] [-o wide|json|yaml|name]",
		DisableFlagsInUseLine: true,
		Short:                 "Show runs, deployments, pools, queues or concurrency limits",
		Long:                  getLong,
		Example:               getExample,
		ValidArgsFunction:     completeGet(f),
		RunE:                  runE(o),
	}
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: wide, json, yaml, name, jsonpath=..., go-template=..."
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "label selector (e.g. kubectl-flows.dev/state=Running)")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "after listing, keep printing changes")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "omit the table header")
	cmd.Flags().IntVar(&o.Limit, "limit", 100, "runs: show the newest N finished runs beside every run not finished; 0 shows every run")
	cmd.Flags().Int64Var(&o.ChunkSize, "chunk-size", 500, "return large lists in chunks rather than all at once; 0 disables chunking")
	return cmd
}

// Complete finds the kind, the printer and the client.
func (o *GetOptions) Complete(args []string) error {
	o.args = args
	if len(args) > 0 {
		o.kind, o.names = printers.KindFor(args[0]), args[1:]
	}
	out := ""
	if o.PrintFlags.OutputFormat != nil {
		out = *o.PrintFlags.OutputFormat
	}
	switch out {
	case "", "wide":
		o.print = cliprinters.NewTablePrinter(cliprinters.PrintOptions{Wide: out == "wide", NoHeaders: o.NoHeaders})
	default:
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		o.print = p
	}
	var err error
	o.client, err = o.f.FlowsClient()
	return err
}

// Validate checks the kind and the selector.
func (o *GetOptions) Validate() error {
	if len(o.args) == 0 {
		return fmt.Errorf("say what to get: one of %s", strings.Join(printers.KindNames(), ", "))
	}
	if o.kind == nil {
		hint := ""
		if c := project.Closest(o.args[0], printers.KindNames(), 1); len(c) > 0 {
			hint = "; did you mean " + c[0] + "?"
		}
		return fmt.Errorf("unknown kind %q: one of %s%s", o.args[0], strings.Join(printers.KindNames(), ", "), hint)
	}
	sel, err := labels.Parse(o.Selector)
	if err != nil {
		return fmt.Errorf("-l %q: %v", o.Selector, err)
	}
	o.selector = sel
	if o.Limit < 0 {
		return fmt.Errorf("--limit %d: give 0 (every run) or more", o.Limit)
	}
	if o.ChunkSize < 0 {
		return fmt.Errorf("--chunk-size %d: give 0 (no chunks) or more", o.ChunkSize)
	}
	return nil
}

func (o *GetOptions) isTable() bool {
	_, ok := o.print.(*cliprinters.HumanReadablePrinter)
	return ok
}

// Run reads and prints, then watches with -w.
func (o *GetOptions) Run(ctx context.Context) error {
	s, err := o.snapshot(ctx)
	if err != nil {
		return err
	}
	printWarnings(o.ErrOut, s)
	rows, err := o.filter(s, true)
	if err != nil {
		return err
	}
	if len(rows) == 0 && !o.Watch && o.isTable() {
		fmt.Fprintf(o.ErrOut, "No %s found in %s namespace.\n", o.kind.Plural, s.Namespace)
		return nil
	}
	if err := o.printRows(rows, len(o.names) == 1 && !o.Watch); err != nil {
		return err
	}
	if !o.Watch {
		return nil
	}
	return o.watch(ctx, rows)
}

// printWarnings prints what a snapshot could not read, one line each,
// on the error stream, so that the table or the -o output stays whole.
func printWarnings(w io.Writer, s *client.Snapshot) {
	for _, m := range s.Warnings {
		fmt.Fprintf(w, "warning: %s\n", m)
	}
}

// snapshot reads what the kind shows. Runs: every run not finished, the
// newest --limit finished ones the selector matches, and each run named,
// so that retention's tens of thousands of finished runs are not listed
// on every call.
func (o *GetOptions) snapshot(ctx context.Context) (*client.Snapshot, error) {
	if o.kind != printers.RunKind {
		return o.client.Snapshot(ctx)
	}
	finished := o.Limit
	if finished == 0 {
		finished = -1
	}
	s, err := o.client.RecentSnapshot(ctx, client.RecentOptions{Finished: finished, Selector: o.selector, ChunkSize: o.ChunkSize})
	if err != nil {
		return nil, err
	}
	for _, n := range o.names {
		if s.Run(n) != nil {
			continue
		}
		r, err := o.client.GetRun(ctx, n)
		if err != nil {
			return nil, err
		}
		s = s.With(r)
	}
	return s, nil
}

// filter applies names and the selector; strict reports missing names.
func (o *GetOptions) filter(s *client.Snapshot, strict bool) ([]printers.Row, error) {
	all := o.kind.Rows(s)
	var out []printers.Row
	for _, r := range all {
		if o.selector.Matches(labels.Set(r.Labels)) && (len(o.names) == 0 || slices.Contains(o.names, r.Name)) {
			out = append(out, r)
		}
	}
	if !strict {
		return out, nil
	}
	for _, n := range o.names {
		if !slices.ContainsFunc(out, func(r printers.Row) bool { return r.Name == n }) {
			names := make([]string, len(all))
			for i, r := range all {
				names[i] = r.Name
			}
			return nil, o.client.NotFound(strings.ToLower(o.kind.Kind), n, names)
		}
	}
	return out, nil
}

// printRows prints a table, or objects (one bare object when single).
func (o *GetOptions) printRows(rows []printers.Row, single bool) error {
	w := cliprinters.GetNewTabWriter(o.Out)
	defer w.Flush()
	switch {
	case o.isTable():
		if len(rows) == 0 {
			return nil
		}
		return o.print.PrintObj(printers.Table(o.kind, rows), w)
	case single && len(rows) == 1:
		return o.print.PrintObj(rows[0].Object, w)
	case o.Watch:
		for _, r := range rows {
			if err := o.print.PrintObj(r.Object, w); err != nil {
				return err
			}
		}
		return nil
	}
	return o.print.PrintObj(printers.List(rows), w)
}

// watch follows the project through the client's caches and, on each
// change, prints the rows that changed.
func (o *GetOptions) watch(ctx context.Context, printed []printers.Row) error {
	last := map[string]string{}
	for _, r := range printed {
		last[r.Name] = printers.RowKey(o.kind, r)
	}
	changed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := o.client.Watch()
	if !w.Start(ctx, &wg, func() { notify(changed) }) {
		return nil
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			time.Sleep(50 * time.Millisecond) // let a burst of events land
		case <-tick.C: // ages, Late
			if o.kind != printers.RunKind && o.kind != printers.DeploymentKind {
				continue
			}
		}
		rows, _ := o.filter(w.Snapshot(), false)
		var diff []printers.Row
		for _, r := range rows {
			if key := printers.RowKey(o.kind, r); last[r.Name] != key {
				last[r.Name] = key
				diff = append(diff, r)
			}
		}
		if len(diff) > 0 {
			if err := o.printRows(diff, false); err != nil {
				return err
			}
			if f, ok := o.Out.(interface{ Sync() error }); ok {
				_ = f.Sync()
			}
		}
	}
}

// notify signals ch without blocking: one pending signal is enough.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
