package plugin

import (
	"context"
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
		RunE: runE(o),
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// Complete finds the project file.
func (o *ValidateOptions) Complete(args []string) error { return o.complete() }

// Validate checks the flags.
func (o *ValidateOptions) Validate() error { return o.projectFlags.validate() }

// Run validates the project.
func (o *ValidateOptions) Run(context.Context) error {
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
