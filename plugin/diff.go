package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/review"
	"github.com/kubectl-flows/kubectl-flows/version"
)

var diffLong = templates.LongDesc(`
	Diff the rendered project against the live cluster: each object is
	applied with a server-side dry run (nothing changes) and the result is
	compared with the live object, so defaults and admission are taken into
	account. ConfigMaps of the project that the render no longer produces
	(a deleted deployment or pool) show as removed.

	Exit status, like kubectl diff and flux diff: 0 no differences, 1
	differences found, 2 or more an error.

	Server-side apply only removes fields owned by its own field manager:
	a field deleted from the project shows as removed only if the live
	object was applied with that manager (--field-manager, default
	kubectl-flows; Flux applies as kustomize-controller).`)

var diffExample = templates.Examples(`
	# What would applying flows.yaml change?
	kubectl flows diff

	# In CI, against the cluster Flux syncs
	kubectl flows diff -f flows.jsonnet --field-manager kustomize-controller`)

// DiffOptions is `kubectl flows diff`.
type DiffOptions struct {
	projectFlags
	FieldManager string
	f            *Factory
	genericiooptions.IOStreams
}

// NewCmdDiff is `kubectl flows diff`.
func NewCmdDiff(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DiffOptions{f: f, IOStreams: streams, FieldManager: client.FieldManager}
	cmd := &cobra.Command{
		Use:     "diff [-f flows.yaml]",
		Short:   "Diff the rendered project against the live cluster",
		Long:    diffLong,
		Example: diffExample,
		Args:    cobra.NoArgs,
		RunE:    runE(o),
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.FieldManager, "field-manager", o.FieldManager, "field manager of the server-side dry run: the one that applies the project")
	return cmd
}

// Complete finds the project file.
func (o *DiffOptions) Complete(args []string) error {
	return exitWith(2, o.complete())
}

// Validate checks the project flags.
func (o *DiffOptions) Validate() error {
	return exitWith(2, o.projectFlags.validate())
}

// Run diffs; the error carries the exit status.
func (o *DiffOptions) Run(ctx context.Context) error {
	n, err := o.diff(ctx)
	if err != nil {
		if ExitCode(err) > 1 {
			return err
		}
		return &ExitError{Code: 2, Err: err}
	}
	if n > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d object(s) differ from the live cluster", n)}
	}
	fmt.Fprintln(o.ErrOut, "no differences")
	return nil
}

// diff prints what applying the rendered project would change and
// returns how many objects differ.
func (o *DiffOptions) diff(ctx context.Context) (int, error) {
	l, objs, err := o.render()
	if err != nil {
		return 0, err
	}
	d, err := o.differ(l.Namespace)
	if err != nil {
		return 0, err
	}
	rendered := map[string]bool{}
	var diffs []client.ObjectDiff
	for _, key := range objs.Keys() {
		obj := objs[key]
		rendered[client.ObjectKey(obj)] = true
		diffs = append(diffs, d.Diff(ctx, obj))
	}
	sel := render.LabelManagedBy + "=" + render.ManagedBy + "," + render.LabelPartOf + "=" + l.Name
	removed, err := d.Removed(ctx, sel, rendered)
	if err != nil {
		return 0, err
	}
	changed := 0
	var errs []string
	for _, od := range append(diffs, removed...) {
		switch {
		case od.Err != nil:
			errs = append(errs, fmt.Sprintf("%s: %v", od.Key, od.Err))
		case od.Diff != "":
			changed++
			fmt.Fprint(o.Out, od.Diff)
		}
	}
	if len(errs) > 0 {
		return changed, &ExitError{Code: 2, Err: errors.New(strings.Join(errs, "\n"))}
	}
	return changed, nil
}

// render loads and renders the project.
func (o *DiffOptions) render() (*project.Loaded, review.Objects, error) {
	l, err := o.load()
	if err != nil {
		return nil, nil, err
	}
	out, err := render.Render(l, render.Options{Version: version.String()})
	if err != nil {
		return nil, nil, err
	}
	objs, err := review.FromOutput(out)
	return l, objs, err
}

// differ is a Differ in the project file's namespace, whatever -n says.
func (o *DiffOptions) differ(ns string) (*client.Differ, error) {
	if flag := o.f.Flags.Namespace; flag != nil && *flag != "" && *flag != ns {
		fmt.Fprintf(o.ErrOut, "warning: -n %s ignored: the project's objects live in namespace %s\n", *flag, ns)
	}
	c, err := o.f.ClientIn(ns, o.File)
	if err != nil {
		return nil, err
	}
	cfg, err := o.f.RESTConfig()
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper, err := o.f.Flags.ToRESTMapper()
	if err != nil {
		return nil, c.Explain(err, "discover", "API resources")
	}
	return c.Differ(dyn, mapper, o.FieldManager), nil
}
