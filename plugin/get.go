package plugin

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

var getLong = templates.LongDesc(`
	Show runs, deployments, work pools, work queues or tag concurrency limits
	of the project installed in the namespace.

	Runs show their deployment, state (Late when Scheduled and more than 15s
	past their time), queue, age and running time. Pools, queues and limits
	show slots in use against their limit, counted live from the runs;
	deployments show their schedule, pause state, last run and next
	scheduled time. With -w the command keeps printing rows as they change,
	like kubectl get -w.

	-o json|yaml|name|jsonpath print objects shaped like Kubernetes objects
	(apiVersion kubectl-flows.dev/v1alpha1, kinds Run, Deployment, Pool,
	Queue, ConcurrencyLimit). They are views assembled from the project's
	ConfigMaps; kubectl-flows installs no CRDs.`)

var getExample = templates.Examples(`
	# Runs, newest last
	kubectl flows get runs

	# Runs of one deployment that are running, with more columns
	kubectl flows get runs -l kubectl-flows.dev/deployment=hello.default,kubectl-flows.dev/state=Running -o wide

	# Slots in use per queue, updated live
	kubectl flows get queues -w

	# The state of one run, for a script
	kubectl flows get run hello-default-x7k2p -o jsonpath='{.status.state}'`)

// GetOptions is `kubectl flows get`.
type GetOptions struct {
	PrintFlags *genericclioptions.PrintFlags
	Selector   string
	Watch      bool
	NoHeaders  bool

	kind  *kindSpec
	names []string
	wide  bool
	print printers.ResourcePrinter

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
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: wide, json, yaml, name, jsonpath=..., go-template=..."
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "label selector (e.g. kubectl-flows.dev/state=Running); for runs it is sent to the server")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "after listing, keep printing changes")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "omit the table header")
	return cmd
}

// Complete parses the kind and the output format.
func (o *GetOptions) Complete(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("say what to get: one of %s", strings.Join(kindNames(), ", "))
	}
	o.kind = kindFor(args[0])
	if o.kind == nil {
		hint := ""
		if c := project.Closest(args[0], kindNames(), 1); len(c) > 0 {
			hint = "; did you mean " + c[0] + "?"
		}
		return fmt.Errorf("unknown kind %q: one of %s%s", args[0], strings.Join(kindNames(), ", "), hint)
	}
	o.names = args[1:]
	if _, err := labels.Parse(o.Selector); err != nil {
		return fmt.Errorf("-l %q: %v", o.Selector, err)
	}
	out := ""
	if o.PrintFlags.OutputFormat != nil {
		out = *o.PrintFlags.OutputFormat
	}
	switch out {
	case "", "wide":
		o.wide = out == "wide"
		o.print = printers.NewTablePrinter(printers.PrintOptions{Wide: o.wide, NoHeaders: o.NoHeaders})
	default:
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		o.print = p
	}
	return nil
}

func (o *GetOptions) isTable() bool {
	_, ok := o.print.(*printers.HumanReadablePrinter)
	return ok
}

// Run reads and prints, then watches with -w.
func (o *GetOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	sel := ""
	if o.kind.plural == "runs" {
		sel = o.Selector
	}
	s, err := o.f.snapshot(ctx, sel)
	if err != nil {
		return err
	}
	views, err := o.filter(s, true)
	if err != nil {
		return err
	}
	if len(views) == 0 && !o.Watch {
		if o.isTable() {
			fmt.Fprintf(o.ErrOut, "No %s found in %s namespace.\n", o.kind.plural, s.ns)
			return nil
		}
	}
	if err := o.printViews(views, len(o.names) == 1 && !o.Watch); err != nil {
		return err
	}
	if !o.Watch {
		return nil
	}
	return o.watch(ctx, s, views)
}

// filter applies names and the selector; strict reports missing names.
func (o *GetOptions) filter(s *snapshot, strict bool) ([]view, error) {
	sel, _ := labels.Parse(o.Selector)
	all := o.kind.views(s)
	var out []view
	for _, v := range all {
		if !sel.Matches(labels.Set(v.labels)) {
			continue
		}
		if len(o.names) > 0 && !contains(o.names, v.name) {
			continue
		}
		out = append(out, v)
	}
	if strict {
		for _, n := range o.names {
			found := false
			for _, v := range out {
				found = found || v.name == n
			}
			if !found {
				var names []string
				for _, v := range all {
					names = append(names, v.name)
				}
				hint := ""
				if c := project.Closest(n, names, 3); len(c) > 0 {
					hint = "; did you mean " + strings.Join(c, ", ") + "?"
				}
				return nil, fmt.Errorf("%s %q not found in namespace %q%s", strings.ToLower(o.kind.kind), n, s.ns, hint)
			}
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// printViews prints a table, or objects (one bare object when single).
func (o *GetOptions) printViews(views []view, single bool) error {
	w := printers.GetNewTabWriter(o.Out)
	defer w.Flush()
	if o.isTable() {
		if len(views) == 0 {
			return nil
		}
		return o.print.PrintObj(table(o.kind, views), w)
	}
	if single && len(views) == 1 {
		return o.print.PrintObj(views[0].obj, w)
	}
	if o.Watch {
		for _, v := range views {
			if err := o.print.PrintObj(v.obj, w); err != nil {
				return err
			}
		}
		return nil
	}
	return o.print.PrintObj(list(views), w)
}

// watch keeps caches of the config and run ConfigMaps and, on each
// change, prints the rows that changed.
func (o *GetOptions) watch(ctx context.Context, s *snapshot, printed []view) error {
	c, err := o.f.KubeClient()
	if err != nil {
		return err
	}
	last := map[string]string{}
	for _, v := range printed {
		last[v.name] = rowKey(o.kind, v)
	}
	runSel := v1alpha1.LabelRun + "=true"
	if o.kind.plural == "runs" && o.Selector != "" {
		runSel += "," + o.Selector
	}
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
	informer := func(sel string) cache.SharedIndexInformer {
		inf := configMapInformer(c, s.ns, sel)
		_, _ = inf.AddEventHandler(handler)
		return inf
	}
	cfgInf, runInf, cancelInf := informer(v1alpha1.LabelConfig), informer(runSel), informer(v1alpha1.LabelCancelRequest+"=true")
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, inf := range []cache.SharedIndexInformer{cfgInf, runInf, cancelInf} {
		wg.Add(1)
		go func() { defer wg.Done(); inf.RunWithContext(ctx) }()
	}
	if !cache.WaitForCacheSync(ctx.Done(), cfgInf.HasSynced, runInf.HasSynced, cancelInf.HasSynced) {
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
			if o.kind.plural != "runs" && o.kind.plural != "deployments" {
				continue
			}
		}
		cms := storeConfigMaps(cfgInf.GetStore())
		runs := readRuns(storeConfigMaps(runInf.GetStore()))
		snap := newSnapshot(s.ns, o.f.now(), project.ReadInstalled(cms), runs)
		snap.cancels = readCancelRequests(storeConfigMaps(cancelInf.GetStore()))
		views, _ := o.filter(snap, false)
		var diff []view
		for _, v := range views {
			key := rowKey(o.kind, v)
			if last[v.name] != key {
				last[v.name] = key
				diff = append(diff, v)
			}
		}
		if len(diff) > 0 {
			if err := o.printViews(diff, false); err != nil {
				return err
			}
			if f, ok := o.Out.(interface{ Sync() error }); ok {
				_ = f.Sync()
			}
		}
	}
}

// rowKey is a row without its age columns: ages tick every second, and
// only real changes are printed.
func rowKey(k *kindSpec, v view) string {
	var parts []string
	for i, c := range v.cells {
		name := k.columns[i].Name
		if name == "Age" || name == "Duration" {
			continue
		}
		if name == "Last Run" {
			s := fmt.Sprint(c)
			if i := strings.Index(s, " ("); i >= 0 {
				s = s[:i]
			}
			c = s
		}
		parts = append(parts, fmt.Sprint(c))
	}
	return strings.Join(parts, "\x00")
}

func storeConfigMaps(store cache.Store) []corev1.ConfigMap {
	items := store.List()
	out := make([]corev1.ConfigMap, 0, len(items))
	for _, it := range items {
		if cm, ok := it.(*corev1.ConfigMap); ok {
			out = append(out, *cm)
		}
	}
	return out
}

var _ io.Writer = (*strings.Builder)(nil)
