package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

// NewCmdTemplate is `kubectl flows template`: the shipped base job
// template, as Prefect's `work-pool get-default-base-job-template` prints
// its own.
func NewCmdTemplate(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Print base job templates",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "default",
		Short: "Print the default base job template (Prefect's Kubernetes variables, plus a few)",
		Long: `Print the default base job template in Prefect's format. Save it as
base-job-template.json and name it in a pool's baseJobTemplate to change it;
a template exported from a Prefect Kubernetes work pool works as it is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(streams.Out, string(jobtemplate.DefaultJSON()))
			return err
		},
	})
	return cmd
}
