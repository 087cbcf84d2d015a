package plugin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/version"
)

var renderExample = templates.Examples(`
	# Render flows.yaml into deploy/
	kubectl flows render

	# Also write deploy/admission/flows-admission-policy.yaml, for a cluster admin to apply
	kubectl flows render --admission-policy

	# In CI: fail with a diff when the committed deploy/ is stale
	kubectl flows render --check

	# Render a Jsonnet project, with a Flux GitRepository and Kustomization
	kubectl flows render -f flows.jsonnet --flux-source https://github.com/acme/flows --flux-branch main`)

// RenderOptions renders a project into a kustomize-ready directory.
type RenderOptions struct {
	projectFlags
	OutDir string
	Check  bool
	Flux   render.FluxOptions
	// AdmissionPolicy also writes render.AdmissionPolicyFile.
	AdmissionPolicy bool

	genericiooptions.IOStreams
}

// NewCmdRender is `kubectl flows render`.
func NewCmdRender(streams genericiooptions.IOStreams) *cobra.Command {
	o := &RenderOptions{OutDir: "deploy", IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "render [-f flows.yaml] [-o DIR] [--check]",
		Short: "Render the project into Kubernetes manifests for git",
		Long: `Render writes the project's work pools, tag limits and deployments, and the
reconciler install, into DIR as a kustomize-ready tree that is sorted and
byte-stable, for a pull request and for Flux or kubectl apply -k.

Each deployment's ConfigMap holds a preview of the Job its runs launch.
With --check nothing is written: it exits 1 and prints a unified diff when
DIR is stale, 0 when it matches, and 2 on error.`,
		Example: renderExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(); err != nil {
				return o.fail(err)
			}
			if err := o.Validate(); err != nil {
				return o.fail(err)
			}
			return o.Run()
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.OutDir, "output-dir", "o", o.OutDir, "directory to write the manifests into")
	cmd.Flags().BoolVar(&o.Check, "check", false, "compare with the output directory instead of writing; exit 1 with a diff when it is stale")
	cmd.Flags().BoolVar(&o.AdmissionPolicy, "admission-policy", false, "also write "+render.AdmissionPolicyFile+": a ValidatingAdmissionPolicy and binding (cluster-scoped, for a cluster admin to apply; not in kustomization.yaml) refusing malformed run requests and status writes by anyone but the in-cluster reconciler")
	cmd.Flags().StringVar(&o.Flux.Source, "flux-source", "", "git URL: also write a Flux GitRepository and Kustomization for the output directory")
	cmd.Flags().StringVar(&o.Flux.Branch, "flux-branch", "main", "git branch for --flux-source")
	cmd.Flags().StringVar(&o.Flux.Path, "flux-path", "", "the output directory's path in the git repository (default: found from git)")
	cmd.Flags().StringVar(&o.Flux.Namespace, "flux-namespace", "flux-system", "namespace of the Flux objects")
	cmd.Flags().StringVar(&o.Flux.SecretRef, "flux-secret-ref", "", "Secret with the git credentials, for --flux-source")
	return cmd
}

// fail maps an error to render's exit status: with --check, 2 means the
// check could not run, leaving 1 for "stale".
func (o *RenderOptions) fail(err error) error {
	if o.Check {
		return &ExitError{Code: 2, Err: err}
	}
	return err
}

// Complete fills defaults.
func (o *RenderOptions) Complete() error {
	if err := o.projectFlags.complete(); err != nil {
		return err
	}
	if o.Flux.Source != "" && o.Flux.Path == "" {
		o.Flux.Path = repoRelative(o.OutDir)
	}
	return nil
}

// Validate checks the flags.
func (o *RenderOptions) Validate() error {
	if o.OutDir == "" {
		return fmt.Errorf("--output-dir must not be empty")
	}
	return o.projectFlags.validate()
}

// Run renders, then writes or checks.
func (o *RenderOptions) Run() error {
	l, err := o.load()
	if err != nil {
		return o.fail(err)
	}
	out, err := render.Render(l, render.Options{Version: version.String(), Flux: o.Flux, AdmissionPolicy: o.AdmissionPolicy})
	if err != nil {
		return o.fail(err)
	}
	if o.Check {
		diff, err := out.Diff(o.OutDir)
		if err != nil {
			return o.fail(err)
		}
		if diff != "" {
			fmt.Fprint(o.Out, diff)
			return &ExitError{Code: 1, Err: fmt.Errorf("%s is stale: run `kubectl flows render -f %s -o %s` and commit the result", o.OutDir, l.File, o.OutDir)}
		}
		fmt.Fprintf(o.ErrOut, "%s is up to date with %s\n", o.OutDir, l.File)
		return nil
	}
	if err := out.Write(o.OutDir); err != nil {
		return err
	}
	fmt.Fprintf(o.ErrOut, "rendered %s into %s: %s\n", l.File, o.OutDir, summary(l.Project))
	return nil
}

// summary counts what a project holds, for one line of feedback.
func summary(p *project.Project) string {
	queues := 0
	for _, pool := range p.Pools {
		queues += len(pool.Queues)
	}
	return fmt.Sprintf("%s, %s, %s, %s",
		plural(len(p.Pools), "pool"), plural(queues, "queue"),
		plural(len(p.ConcurrencyLimits), "tag limit"), plural(len(p.Deployments), "deployment"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// repoRelative gives dir relative to the root of the git repository that
// holds it, for Flux's Kustomization path; outside git, dir as given.
func repoRelative(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	root := gitTopLevel(filepath.Dir(abs))
	if root == "" {
		return dir
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return dir
	}
	return filepath.ToSlash(rel)
}

func gitTopLevel(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
