// Package plugin holds the cobra commands of `kubectl flows`, shaped like
// kubectl's own: an Options struct per command with Complete, Validate and
// Run, and IOStreams passed in so tests capture output.
package plugin

import (
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

// NewCmdFlows is the root command.
func NewCmdFlows(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	cmd := &cobra.Command{
		Use:   "kubectl-flows",
		Short: "Prefect-style work pools, queues, deployments and concurrency limits on plain Kubernetes",
		Long: `kubectl flows renders a project file (flows.yaml or flows.jsonnet) into plain
Kubernetes manifests for GitOps, and drives runs of its deployments.`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl flows",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		NewCmdRender(streams),
		NewCmdValidate(streams),
		NewCmdInit(streams),
		NewCmdTemplate(streams),
		NewCmdVersion(streams),
	)
	return cmd
}
