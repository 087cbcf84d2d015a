package plugin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
	"github.com/kubectl-flows/kubectl-flows/prefectimport"
)

var importLong = templates.LongDesc(`
	Import writes a kubectl-flows project (flows.yaml) from a Prefect
	prefect.yaml: its deployments (entrypoint, parameters, parameter schema,
	tags, schedules, concurrency limit, work pool, queue and job variables),
	with anchors, aliases and merge keys resolved, and the image that its
	build step tags with the git SHA written as {{ gitSha }}.

	What a Prefect server keeps rather than prefect.yaml, the limits of work
	pools, queues and tags, comes from --limits FILE (the pools: and
	concurrencyLimits: of a flows.yaml) and the --pool-limit, --queue-limit
	and --tag-limit flags, which win over the file. A pool's base job
	template exported from Prefect (prefect work-pool
	get-default-base-job-template, or the pool's Advanced tab) is given with
	--base-job-template; without it pools use the default template.

	Everything with no equivalent is reported on stderr, each line naming its
	line of prefect.yaml: build, push and pull steps (with the docker build
	and docker push lines that do the same in CI), rrule schedules, Prefect
	variables and blocks, and job variables the template does not declare
	(Prefect ignores those; they are dropped).`)

var importExample = templates.Examples(`
	# Import prefect.yaml with the limits of the Prefect server
	kubectl flows import --pool-limit kubernetes=10 --queue-limit kubernetes/default=5 --tag-limit database=2

	# With the pool's base job template and a limits file, into namespace etl
	kubectl flows import -n etl --base-job-template base-job-template.json --limits limits.yaml`)

// ImportOptions is `kubectl flows import`.
type ImportOptions struct {
	File            string
	Output          string
	BaseJobTemplate string
	LimitsFile      string
	PoolLimits      []string
	QueueLimits     []string
	TagLimits       []string
	Name            string
	Force           bool
	f               *Factory
	genericiooptions.IOStreams
}

// NewCmdImport is `kubectl flows import`.
func NewCmdImport(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ImportOptions{File: "prefect.yaml", Output: "flows.yaml", f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "import [-f prefect.yaml] [-o flows.yaml] [--base-job-template FILE] [--limits FILE] [--pool-limit P=N] [--queue-limit P/Q=N] [--tag-limit T=N]",
		Short:   "Write a project (flows.yaml) from a Prefect prefect.yaml",
		Long:    importLong,
		Example: importExample,
		Args:    cobra.NoArgs,
		RunE:    runE(o),
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.File, "file", "f", o.File, "the prefect.yaml to import")
	fl.StringVarP(&o.Output, "output", "o", o.Output, "the project file to write")
	fl.StringVar(&o.BaseJobTemplate, "base-job-template", "", "a Prefect base job template (JSON) for the pools")
	fl.StringVar(&o.LimitsFile, "limits", "", "YAML file with pools: (name, concurrencyLimit, paused, queues: name, priority, concurrencyLimit) and concurrencyLimits: (tag, limit)")
	fl.StringArrayVar(&o.PoolLimits, "pool-limit", nil, "a work pool's concurrency limit, POOL=N (repeatable)")
	fl.StringArrayVar(&o.QueueLimits, "queue-limit", nil, "a work queue's concurrency limit, POOL/QUEUE=N (repeatable)")
	fl.StringArrayVar(&o.TagLimits, "tag-limit", nil, "a tag concurrency limit, TAG=N (repeatable)")
	fl.StringVar(&o.Name, "name", "", "the project's name (default: prefect.yaml's name)")
	fl.BoolVar(&o.Force, "force", false, "overwrite the output file")
	return cmd
}

// Complete has nothing to fill in: the flags have their defaults.
func (o *ImportOptions) Complete(args []string) error { return nil }

// Validate has nothing to check before the files are read.
func (o *ImportOptions) Validate() error { return nil }

// Run converts and writes the project.
func (o *ImportOptions) Run(context.Context) error {
	src, err := os.ReadFile(o.File)
	if err != nil {
		return fmt.Errorf("reading prefect.yaml: %w", err)
	}
	if _, err := os.Stat(o.Output); err == nil && !o.Force {
		return fmt.Errorf("%s exists; pass --force to overwrite it, or -o to write elsewhere", o.Output)
	}
	opts := prefectimport.Options{File: o.File, Source: src, Name: o.Name}
	if o.f != nil && o.f.Flags != nil && o.f.Flags.Namespace != nil {
		opts.Namespace = *o.f.Flags.Namespace
	}
	if o.BaseJobTemplate != "" {
		data, err := os.ReadFile(o.BaseJobTemplate)
		if err != nil {
			return fmt.Errorf("--base-job-template: %w", err)
		}
		if opts.Template, err = jobtemplate.Parse(data, o.BaseJobTemplate); err != nil {
			return err
		}
		if opts.BaseJobTemplate, err = relativeTo(filepath.Dir(o.Output), o.BaseJobTemplate); err != nil {
			return err
		}
	}
	if opts.Pools, opts.TagLimits, err = o.limits(); err != nil {
		return err
	}
	dir := filepath.Dir(o.File)
	opts.ReadFile = func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))) }
	res, err := prefectimport.Convert(opts)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("Imported from %s by `kubectl flows import`. Render it with\n`kubectl flows render`; build and push the image in CI, tagged with\nthe short git SHA ({{ gitSha }}).", filepath.Base(o.File))
	out, err := prefectimport.Marshal(res.Project, header)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(o.ErrOut, w)
	}
	if err := os.WriteFile(o.Output, out, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "wrote %s (deployments: %d, pools: %d, tag limits: %d; notes above: %d)\nNext: kubectl flows render -f %s\n",
		o.Output, len(res.Project.Deployments), len(res.Project.Pools), len(res.Project.ConcurrencyLimits), len(res.Warnings), o.Output)
	return nil
}

func relativeTo(dir, file string) (string, error) {
	ad, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	af, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(ad, af)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// limits reads --limits, then lays the flags over it.
func (o *ImportOptions) limits() ([]v1alpha1.Pool, []v1alpha1.TagLimit, error) {
	l := &prefectimport.Limits{}
	if o.LimitsFile != "" {
		b, err := os.ReadFile(o.LimitsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--limits: %w", err)
		}
		if l, err = prefectimport.ReadLimits("--limits "+o.LimitsFile, b); err != nil {
			return nil, nil, err
		}
	}
	for _, set := range []struct {
		flag string
		kvs  []string
		set  func(flag, kv string) error
	}{{"--pool-limit", o.PoolLimits, l.SetPool}, {"--queue-limit", o.QueueLimits, l.SetQueue}, {"--tag-limit", o.TagLimits, l.SetTag}} {
		for _, kv := range set.kvs {
			if err := set.set(set.flag, kv); err != nil {
				return nil, nil, err
			}
		}
	}
	return l.Pools, l.ConcurrencyLimits, nil
}
