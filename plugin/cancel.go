package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/client"
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
	client     *client.Client
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
		RunE:                  runE(o),
	}
	cmd.Flags().BoolVar(&o.AllPending, "all-pending", false, "cancel every run of --deployment that has not started")
	cmd.Flags().StringVar(&o.Deployment, "deployment", "", "with --all-pending: the deployment, FLOW/NAME")
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "wait until each run is Cancelled")
	_ = cmd.RegisterFlagCompletionFunc("deployment", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return f.deploymentNames(toComplete), noFiles
	})
	return cmd
}

// Complete takes the runs named and the client.
func (o *CancelOptions) Complete(args []string) error {
	o.names = args
	var err error
	o.client, err = o.f.FlowsClient()
	return err
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
	var runs []*client.RunInfo
	var failed []string
	if o.AllPending {
		var err error
		if runs, err = o.pending(ctx); err != nil || len(runs) == 0 {
			return err
		}
	}
	for _, name := range o.names {
		r, err := o.client.GetRun(ctx, name)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "error: %v\n", err)
			failed = append(failed, name)
			continue
		}
		runs = append(runs, r)
	}
	requests, err := o.client.ListCancelRequests(ctx)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if err := o.cancel(ctx, r, requests); err != nil {
			fmt.Fprintf(o.ErrOut, "error: %v\n", err)
			failed = append(failed, r.ConfigMap.Name)
		}
	}
	if len(failed) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("could not cancel %s", strings.Join(failed, ", "))}
	}
	return nil
}

// pending are the runs of --deployment that have not started.
func (o *CancelOptions) pending(ctx context.Context) ([]*client.RunInfo, error) {
	name, runs, err := o.client.NotStarted(ctx, o.Deployment)
	if err == nil && len(runs) == 0 {
		fmt.Fprintf(o.ErrOut, "%s has no runs waiting to start\n", name)
	}
	return runs, err
}

func (o *CancelOptions) cancel(ctx context.Context, r *client.RunInfo, requests client.CancelRequests) error {
	name := r.ConfigMap.Name
	if err := o.client.Cancel(ctx, r, requests); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "run %s cancel requested\n", name)
	if !o.Wait {
		return nil
	}
	_, err := waitForRun(ctx, o.client, r, 0, false, io.Discard, o.ErrOut)
	if ExitCode(err) == ExitCancelled {
		fmt.Fprintf(o.Out, "run %s cancelled\n", name)
		return nil
	}
	if err == nil {
		return fmt.Errorf("run %s completed before it could be cancelled", name)
	}
	return err
}
