package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/version"
)

// ValidateOptions checks a project file without writing anything.
type ValidateOptions struct {
	projectFlags
	genericiooptions.IOStreams
}

// NewCmdValidate is `kubectl flows validate`.
func NewCmdValidate(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ValidateOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "validate [-f flows.yaml]",
		Short: "Check the project file, including every deployment's resolved Job",
		Long: `Validate loads the project, checks every field, validates job variables and
parameters against their schemas, and resolves each deployment's Job, exactly
as render does, without writing anything. Every problem is reported with its
file, line and field.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(); err != nil {
				return err
			}
			if err := o.projectFlags.validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// Run validates.
func (o *ValidateOptions) Run() error {
	all, err := o.loadAll()
	if err != nil {
		return err
	}
	for _, l := range all {
		if _, err := render.Render(l, render.Options{Version: version.String()}); err != nil {
			return err
		}
		what := l.File
		if l.Environment != "" {
			what += " (environment " + l.Environment + ")"
		}
		fmt.Fprintf(o.Out, "%s is valid: %s\n", what, summary(l.Project))
	}
	return nil
}
