package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

var cancelLong = templates.LongDesc(`
	Cancel runs. A run that waits for a slot ends Cancelled at once; a
	run holding a Job goes Cancelling while the reconciler deletes its Job
	(and so its pods), then Cancelled. Cancelling a run that already ended
	is an error for that run.

	Cancel leaves the run alone and creates a cancel request, a ConfigMap
	labelled kubectl-flows.dev/cancel-request=true that names the run and
	its UID; the reconciler carries it out and deletes it. So the
	flows-submitter Role, which may create ConfigMaps but not change them,
	is enough to cancel.

	--all-pending with --deployment cancels every run of that deployment
	that has not started yet (Scheduled, Late or Pending).`)

var cancelExample = templates.Examples(`
	# Cancel one run
	kubectl flows cancel hello-default-x7k2p

	# Cancel everything hello/arthur still has waiting
	kubectl flows cancel --all-pending --deployment hello/arthur`)

// CancelOptions is `kubectl flows cancel`.
type CancelOptions struct {
	AllPending bool
	Deployment string
	Wait       bool
	names      []string
	f          *Factory
	genericiooptions.IOStreams
}

// NewCmdCancel is `kubectl flows cancel`.
func NewCmdCancel(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CancelOptions{f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:                   "cancel (RUN... | --all-pending --deployment FLOW/NAME)",
		DisableFlagsInUseLine: true,
		Short:                 "Cancel runs",
		Long:                  cancelLong,
		Example:               cancelExample,
		ValidArgsFunction:     completeRuns(f, true, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.names = args
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.AllPending, "all-pending", false, "cancel every run of --deployment that has not started")
	cmd.Flags().StringVar(&o.Deployment, "deployment", "", "with --all-pending: the deployment, FLOW/NAME")
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "wait until each run is Cancelled")
	_ = cmd.RegisterFlagCompletionFunc("deployment", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return f.deploymentNames(toComplete), noFiles
	})
	return cmd
}

// Validate checks the arguments.
func (o *CancelOptions) Validate() error {
	switch {
	case o.AllPending && len(o.names) > 0:
		return errors.New("name runs or use --all-pending, not both")
	case o.AllPending && o.Deployment == "":
		return errors.New("--all-pending needs --deployment FLOW/NAME")
	case !o.AllPending && o.Deployment != "":
		return errors.New("--deployment goes with --all-pending")
	case !o.AllPending && len(o.names) == 0:
		return errors.New("name the runs to cancel, or use --all-pending --deployment FLOW/NAME")
	}
	return nil
}

// Run requests cancellation of each run.
func (o *CancelOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var runs []*project.RunInfo
	if o.AllPending {
		in, err := o.f.readInstalled(ctx)
		if err != nil {
			return err
		}
		d, err := o.f.deployment(in, o.Deployment)
		if err != nil {
			return err
		}
		all, err := o.f.listRuns(ctx, "")
		if err != nil {
			return err
		}
		for _, r := range all {
			s := r.State()
			if r.Deployment() == d.FullName() && (s == v1alpha1.StateScheduled || s == v1alpha1.StatePending) {
				runs = append(runs, r)
			}
		}
		if len(runs) == 0 {
			fmt.Fprintf(o.ErrOut, "%s has no runs waiting to start\n", d.FullName())
			return nil
		}
	}
	var failed []string
	for _, name := range o.names {
		r, err := o.f.getRun(ctx, name)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "error: %v\n", err)
			failed = append(failed, name)
			continue
		}
		runs = append(runs, r)
	}
	pending, err := o.f.listCancelRequests(ctx)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if err := o.cancel(ctx, r, pending); err != nil {
			fmt.Fprintf(o.ErrOut, "error: %v\n", err)
			failed = append(failed, r.ConfigMap.Name)
		}
	}
	if len(failed) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("could not cancel %s", strings.Join(failed, ", "))}
	}
	return nil
}

func (o *CancelOptions) cancel(ctx context.Context, r *project.RunInfo, pending cancelRequests) error {
	name := r.ConfigMap.Name
	if err := requestCancel(ctx, o.f, r, pending); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "run %s cancel requested\n", name)
	if !o.Wait {
		return nil
	}
	_, err := waitForRun(ctx, o.f, r.ConfigMap, 0, false, discard{}, o.ErrOut)
	if ExitCode(err) == ExitCancelled {
		fmt.Fprintf(o.Out, "run %s cancelled\n", name)
		return nil
	}
	if err == nil {
		return fmt.Errorf("run %s completed before it could be cancelled", name)
	}
	return err
}

// requestCancel asks the reconciler to cancel a run that has not ended,
// the one way runs are cancelled: `kubectl flows cancel` and the
// dashboard's Cancel button.
func requestCancel(ctx context.Context, f *Factory, r *project.RunInfo, pending cancelRequests) error {
	name := r.ConfigMap.Name
	if s := r.State(); s.Final() {
		return fmt.Errorf("run %s already ended %s", name, s)
	}
	// A cancel request, never an edit of the run: submitters (the
	// flows-submitter Role) may create ConfigMaps but not update them. One
	// request per run is enough.
	if pending.forRun(r.ConfigMap) != nil {
		return nil
	}
	c, err := f.KubeClient()
	if err != nil {
		return err
	}
	req, err := v1alpha1.NewCancelRequest(r.ConfigMap)
	if err != nil {
		return err
	}
	created, err := c.CoreV1().ConfigMaps(r.ConfigMap.Namespace).Create(ctx, req, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return f.apiError(err, "create", "configmaps")
	}
	if pending != nil {
		pending[cancelKey{name, r.ConfigMap.UID}] = created // a run named twice gets one request
	}
	return nil
}

// canCancelRuns reports whether the user may cancel runs (as
// requestCancel does), for offering Cancel buttons.
func (f *Factory) canCancelRuns(ctx context.Context) bool { return f.canI(ctx, "create", "configmaps") }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
