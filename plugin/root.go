// Package plugin holds the cobra commands of `kubectl flows`, shaped like
// kubectl's own: an Options struct per command with Complete, Validate and
// Run, and IOStreams passed in so tests capture output.
package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// ExitError carries a specific exit status out of a command, for the
// commands whose status means something (render --check, run --wait).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitWith gives err (when not nil) an exit status.
func exitWith(code int, err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err}
}

// ExitCode returns the status a process should exit with for err.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// options is the shape of every command's options, as in kubectl:
// Complete fills in what the flags and arguments imply (defaults, parsed
// values, clients), Validate checks them without side effects, and Run
// does the work and prints.
type options interface {
	Complete(args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runE runs a command's options: Complete, Validate, Run.
func runE(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		return o.Run(ctx)
	}
}

// NewCmdFlows is the root command.
func NewCmdFlows(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	return NewCmdFlowsWithFactory(NewFactory(flags), streams)
}

// NewCmdFlowsWithFactory is the root command over a given Factory (tests
// give one with a fake client and a fixed clock).
func NewCmdFlowsWithFactory(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-flows",
		Short: "Prefect-style work pools, queues, deployments and concurrency limits on plain Kubernetes",
		Long: `kubectl flows renders a project file (flows.yaml or flows.jsonnet) into plain
Kubernetes manifests for GitOps, and drives runs of its deployments.

Commands that talk to the cluster work in the project's namespace: the one
given with -n; else the namespace of the project file (flows.yaml,
flows.yml or flows.jsonnet) in the current directory; else the kubeconfig
context's.`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl flows",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	if f.Flags == nil {
		f.Flags = genericclioptions.NewConfigFlags(true)
	}
	f.Flags.AddFlags(cmd.PersistentFlags())
	_ = cmd.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return f.namespaceNames(toComplete), noFiles
	})
	cmd.AddGroup(
		&cobra.Group{ID: "gitops", Title: "Project (GitOps):"},
		&cobra.Group{ID: "runs", Title: "Runs and the cluster:"},
	)
	for _, c := range []*cobra.Command{
		NewCmdInit(streams), NewCmdImport(f, streams), NewCmdValidate(streams), NewCmdRender(streams), NewCmdReview(streams), NewCmdDiff(f, streams), NewCmdTemplate(streams),
	} {
		c.GroupID = "gitops"
		cmd.AddCommand(c)
	}
	for _, c := range []*cobra.Command{
		NewCmdRun(f, streams), NewCmdGet(f, streams), NewCmdDescribe(f, streams), NewCmdLogs(f, streams),
		NewCmdCancel(f, streams), NewCmdPause(f, streams), NewCmdResume(f, streams), NewCmdDashboard(f, streams),
	} {
		c.GroupID = "runs"
		cmd.AddCommand(c)
	}
	cmd.AddCommand(NewCmdVersion(f, streams))
	return cmd
}
