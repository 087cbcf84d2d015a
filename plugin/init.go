package plugin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-flows/kubectl-flows/scaffold"
)

// InitOptions scaffolds a working project.
type InitOptions struct {
	Dir   string
	Force bool
	genericiooptions.IOStreams
}

// NewCmdInit is `kubectl flows init [DIR]`.
func NewCmdInit(streams genericiooptions.IOStreams) *cobra.Command {
	o := &InitOptions{Dir: ".", IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Scaffold a project with the hello flow",
		Long: `Init writes a working project into DIR (default: the current directory):
flows.yaml with two deployments of the hello flow, base-job-template.json,
flows/hello.py, Dockerfile and requirements.txt. It refuses to overwrite a
file unless --force is given.`,
		Args: cobra.MaximumNArgs(1),
		RunE: runE(o),
	}
	cmd.Flags().BoolVar(&o.Force, "force", false, "overwrite existing files")
	return cmd
}

// Complete takes the directory.
func (o *InitOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.Dir = args[0]
	}
	return nil
}

// Validate has nothing to check: cobra checks the arguments.
func (o *InitOptions) Validate() error { return nil }

// Run writes the scaffold.
func (o *InitOptions) Run(context.Context) error {
	files, err := scaffold.Files()
	if err != nil {
		return err
	}
	paths := scaffold.Paths(files)
	if !o.Force {
		for _, p := range paths {
			full := filepath.Join(o.Dir, filepath.FromSlash(p))
			if _, err := os.Stat(full); err == nil {
				return fmt.Errorf("%s exists; pass --force to overwrite it", full)
			}
		}
	}
	for _, p := range paths {
		full := filepath.Join(o.Dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "wrote %s\n", full)
	}
	fmt.Fprintf(o.Out, "\nNext: kubectl flows render -f %s   (in a git repository with a commit, or with --ext-str gitSha=TAG)\n",
		filepath.Join(o.Dir, "flows.yaml"))
	return nil
}
