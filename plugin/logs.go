package plugin

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/client"
)

var logsLong = templates.LongDesc(`
	Print the log of a run's pod (the newest, when its Job retried). With -f
	it waits for the pod to start and follows the log until the pod ends.

	The log comes from the node's kubelet through the API server, as with
	kubectl logs. When the pod is gone or its node cannot serve logs, the
	end of the log the reconciler saved in the run's status (for Failed and
	Crashed runs) is printed instead, and said so.`)

var logsExample = templates.Examples(`
	kubectl flows logs hello-default-x7k2p
	kubectl flows logs hello-default-x7k2p -f --timestamps
	kubectl flows logs hello-default-x7k2p --tail 20`)

// LogsOptions is `kubectl flows logs`.
type LogsOptions struct {
	client.LogOptions
	args   []string
	client *client.Client
	f      *Factory
	genericiooptions.IOStreams
}

// NewCmdLogs is `kubectl flows logs`.
func NewCmdLogs(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LogsOptions{f: f, IOStreams: streams, LogOptions: client.LogOptions{Tail: -1}}
	cmd := &cobra.Command{
		Use:                   "logs RUN [-f] [--tail N] [--timestamps]",
		DisableFlagsInUseLine: true,
		Short:                 "Print the logs of a run's pod",
		Long:                  logsLong,
		Example:               logsExample,
		ValidArgsFunction:     completeRuns(f, false, 1),
		RunE:                  runE(o),
	}
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "wait for the pod to start, then stream its log until it ends")
	cmd.Flags().Int64Var(&o.Tail, "tail", o.Tail, "lines from the end of the log to show; -1 shows all")
	cmd.Flags().BoolVar(&o.Timestamps, "timestamps", false, "prefix each line with its RFC 3339 time")
	cmd.Flags().StringVarP(&o.Container, "container", "c", "", "container of the pod (default: the pod's default or only container)")
	return cmd
}

// Complete takes the run and the client.
func (o *LogsOptions) Complete(args []string) error {
	o.args = args
	var err error
	o.client, err = o.f.FlowsClient()
	return err
}

// Validate checks that one run is named.
func (o *LogsOptions) Validate() error {
	if len(o.args) != 1 {
		return errors.New("name one run: kubectl flows logs RUN")
	}
	return nil
}

// Run prints the log.
func (o *LogsOptions) Run(ctx context.Context) error {
	r, err := o.client.GetRun(ctx, o.args[0])
	if err != nil {
		return err
	}
	return o.client.Log(ctx, r, o.LogOptions, o.Out, o.ErrOut)
}
