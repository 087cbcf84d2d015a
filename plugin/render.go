package plugin

import (
	"context"
	"fmt"
	"path"
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

	# Also write deploy/monitoring/: a Grafana dashboard, alerts (PrometheusRule) and a PodMonitor
	kubectl flows render --monitoring

	# In CI: fail with a diff when the committed deploy/ is stale
	kubectl flows render --check

	# Render a Jsonnet project, with a Flux GitRepository and Kustomization
	kubectl flows render -f flows.jsonnet --flux-source https://github.com/acme/flows --flux-branch main

	# A project with environments: clusters/staging and clusters/production,
	# each with the Flux objects that apply it
	kubectl flows render --flux-source https://github.com/acme/flows`)

// RenderOptions renders a project into a kustomize-ready directory.
type RenderOptions struct {
	projectFlags
	OutDir string
	Check  bool
	Flux   render.FluxOptions
	// AdmissionPolicy also writes render.AdmissionPolicyFile.
	AdmissionPolicy bool
	// Monitoring also writes render.MonitoringDir.
	Monitoring bool

	genericiooptions.IOStreams
}

// NewCmdRender is `kubectl flows render`.
func NewCmdRender(streams genericiooptions.IOStreams) *cobra.Command {
	o := &RenderOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "render [-f flows.yaml] [-o DIR] [--check] [--env NAME]",
		Short: "Render the project into Kubernetes manifests for git",
		Long: `Render writes the project's work pools, tag limits and deployments, and the
reconciler install, into DIR as a kustomize-ready tree that is sorted and
byte-stable, for a pull request and for Flux or kubectl apply -k.

Each deployment's ConfigMap holds a preview of the Job its runs launch.
A project with environments is rendered once per environment, into
DIR/<environment> (DIR is clusters unless -o says otherwise), each with its
own config index and reconciler --config-digest; --env renders one.
With --check nothing is written: it exits 1 and prints a unified diff when
DIR is stale, 0 when it matches, and 2 on error.`,
		Example: renderExample,
		Args:    cobra.NoArgs,
		RunE:    runE(o),
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.OutDir, "output-dir", "o", "", "directory to write the manifests into (default deploy, or clusters for a project with environments, one directory each)")
	cmd.Flags().BoolVar(&o.Check, "check", false, "compare with the output directory instead of writing; exit 1 with a diff when it is stale")
	cmd.Flags().BoolVar(&o.Monitoring, "monitoring", false, "also write "+render.MonitoringDir+"/: a Grafana dashboard (a ConfigMap for Grafana's dashboard sidecar), a PrometheusRule with alerts and a PodMonitor, with a kustomization of their own (not in kustomization.yaml: they need the Prometheus Operator's CRDs)")
	cmd.Flags().BoolVar(&o.AdmissionPolicy, "admission-policy", false, "also write "+render.AdmissionPolicyFile+": a ValidatingAdmissionPolicy and binding (cluster-scoped, for a cluster admin to apply; not in kustomization.yaml) refusing malformed run requests and status writes by anyone but the in-cluster reconciler")
	cmd.Flags().StringVar(&o.Flux.Source, "flux-source", "", "git URL: also write a Flux GitRepository and Kustomization for the output directory")
	cmd.Flags().StringVar(&o.Flux.Branch, "flux-branch", "main", "git branch for --flux-source")
	cmd.Flags().StringVar(&o.Flux.Path, "flux-path", "", "the output directory's path in the git repository (default: found from git); with environments, each environment's directory is below it")
	cmd.Flags().StringVar(&o.Flux.Namespace, "flux-namespace", "flux-system", "namespace of the Flux objects")
	cmd.Flags().StringVar(&o.Flux.SecretRef, "flux-secret-ref", "", "Secret with the git credentials, for --flux-source")
	return cmd
}

// fail maps an error to render's exit status: with --check, 2 means the
// check could not run, leaving 1 for "stale".
func (o *RenderOptions) fail(err error) error {
	if o.Check {
		return exitWith(2, err)
	}
	return err
}

// Complete fills defaults.
func (o *RenderOptions) Complete(args []string) error {
	return o.fail(o.projectFlags.complete())
}

// Validate checks the flags.
func (o *RenderOptions) Validate() error {
	return o.fail(o.projectFlags.validate())
}

// DefaultOutDir is where render writes: deploy, or for a project with
// environments clusters/<environment>, Flux's usual layout, so each
// environment's directory is the path of the Flux Kustomization that
// applies it in its cluster.
func DefaultOutDir(l *project.Loaded) string {
	if len(l.Environments) > 0 {
		return "clusters"
	}
	return "deploy"
}

// outDir is where one environment's render goes.
func (o *RenderOptions) outDir(l *project.Loaded) string {
	dir := o.OutDir
	if dir == "" {
		dir = DefaultOutDir(l)
	}
	return filepath.Join(dir, l.Environment)
}

// Run renders each environment (or the project), then writes or checks.
func (o *RenderOptions) Run(context.Context) error {
	collectLess()
	all, err := o.loadAll()
	if err != nil {
		return o.fail(err)
	}
	var stale []string
	for _, l := range all {
		dir := o.outDir(l)
		flux := o.Flux
		if flux.Source != "" {
			if flux.Path == "" {
				flux.Path = render.RepoPath(dir)
			} else {
				flux.Path = path.Join(flux.Path, l.Environment)
			}
		}
		out, err := render.Render(l, render.Options{Version: version.String(), Flux: flux, AdmissionPolicy: o.AdmissionPolicy, Monitoring: o.Monitoring})
		if err != nil {
			return o.fail(err)
		}
		if o.Check {
			diff, err := out.Diff(dir)
			if err != nil {
				return o.fail(err)
			}
			if diff != "" {
				fmt.Fprint(o.Out, diff)
				stale = append(stale, dir)
				continue
			}
			fmt.Fprintf(o.ErrOut, "%s is up to date with %s\n", dir, l.File)
			continue
		}
		if err := out.Write(dir); err != nil {
			return err
		}
		fmt.Fprintf(o.ErrOut, "rendered %s into %s: %s\n", l.File, dir, summary(l.Project))
	}
	if len(stale) > 0 {
		cmd := "kubectl flows render -f " + o.File
		if o.OutDir != "" {
			cmd += " -o " + o.OutDir
		}
		verb := "is"
		if len(stale) > 1 {
			verb = "are"
		}
		return &ExitError{Code: 1, Err: fmt.Errorf("%s %s stale: run `%s` and commit the result", strings.Join(stale, " and "), verb, cmd)}
	}
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
