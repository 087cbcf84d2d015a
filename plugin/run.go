package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/internal/yamljson"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
	"github.com/kubectl-flows/kubectl-flows/printers"
)

// Exit statuses of `run --wait` and `run --watch`, so a CI pipeline can
// tell how a run ended.
const (
	ExitCompleted = 0
	ExitOther     = 1 // anything else: bad flags, API errors, the run deleted
	ExitFailed    = 2
	ExitCrashed   = 3
	ExitCancelled = 4
	ExitRejected  = 5
	ExitTimeout   = 6
)

// exitCodeFor maps a final state to its exit status.
func exitCodeFor(s v1alpha1.RunState) int {
	switch s {
	case v1alpha1.StateCompleted:
		return ExitCompleted
	case v1alpha1.StateFailed:
		return ExitFailed
	case v1alpha1.StateCrashed:
		return ExitCrashed
	case v1alpha1.StateCancelled:
		return ExitCancelled
	case v1alpha1.StateRejected:
		return ExitRejected
	}
	return ExitOther
}

var runLong = templates.LongDesc(`
	Run a deployment: create a run request (a ConfigMap labelled
	kubectl-flows.dev/run=true) that the reconciler turns into a Job when the
	deployment's pool, queue, deployment and tag limits have a free slot.
	It prints the run's name.

	Parameters (-p) are laid over the deployment's defaults; a value that
	parses as JSON is used as JSON (-p count=3 is a number, -p 'items=[1,2]' a
	list), anything else is a string. Job variables (-j) are laid over the
	pool's and the deployment's, as in Prefect; a run may set only the job
	variables its pool's and deployment's runOverrides allow (by default
	env, cpu_request, cpu_limit, memory_request, memory_limit). Both are
	checked against
	their schemas before the request is made (--validate=false skips that and
	leaves it to the reconciler).

	With --watch it prints every state change until the run ends; with
	--wait it is silent until then. Either way the exit status says how the
	run ended:

	    0  Completed
	    1  error (bad input, API error, the run was deleted)
	    2  Failed      (the Job failed: BackoffLimitExceeded, DeadlineExceeded, ...)
	    3  Crashed     (the pod never started, or the Job disappeared)
	    4  Cancelled
	    5  Rejected    (the request is invalid: parameters, job variables, ...)
	    6  timed out   (--timeout passed; the run goes on)

	With -o json (or yaml) it prints the run as 'get run NAME -o json' does
	instead of its name: at once, or with --wait once the run has ended,
	so a flow that starts another deployment's run reads how it ended.

	Inside a run's pod (FLOWS_RUN_NAME is set) the new run records that run
	as its parent: it is cancelled with it, and the reconciler accepts it
	only if the parent's deployment lists this one in its starts.

	With --local nothing is sent to a cluster: the run is resolved from the
	project file (-f) exactly as the reconciler would resolve it (parameters,
	job variables, the FLOWS_* environment), and the Job's command, by
	default the runner that calls the deployment's entrypoint with the
	parameters as keyword arguments, runs as a process in the project
	directory with python3, its output streamed. It exits 0 Completed, 2
	Failed (the flow raised: its traceback is shown), 4 Cancelled (Ctrl-C),
	5 Rejected, 6 timed out (--timeout stops it).`)

var runExample = templates.Examples(`
	# Run hello/default with its default parameters
	kubectl flows run hello/default

	# Override a parameter and wait for the result, as a CI step
	kubectl flows run hello/default -p name=Arthur --wait --timeout 30m

	# Follow the run's states
	kubectl flows run hello/arthur --watch

	# Run the flow on this machine, as the cluster would run it
	kubectl flows run --local hello/default -p name=Ford

	# From inside a flow's pod: start a child run, wait, read its final state
	kubectl flows run etl/extract --wait -o json

	# More memory for this run only, starting in ten minutes
	kubectl flows run etl/daily -j memory_request=2Gi --in 10m`)

// RunOptions is `kubectl flows run`.
type RunOptions struct {
	Params     []string
	ParamsFile string
	JobVars    []string
	Tags       []string
	At         string
	In         time.Duration
	Name       string
	Wait       bool
	Watch      bool
	Timeout    time.Duration
	// ValidateValues is --validate: check parameters and job variables
	// before submitting.
	ValidateValues bool
	Local          bool
	Python         string
	Output         string
	projectFlags
	args        []string
	deployment  string
	params      map[string]any
	jobVars     map[string]any
	scheduledAt *metav1.Time
	client      *client.Client
	f           *Factory
	genericiooptions.IOStreams
}

// NewCmdRun is `kubectl flows run`.
func NewCmdRun(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RunOptions{f: f, IOStreams: streams, ValidateValues: true}
	cmd := &cobra.Command{
		Use:                   "run FLOW/DEPLOYMENT [-p key=value...] [-j var=value...] [--tag T...] [--at TIME | --in DURATION] [--wait | --watch | --local] [--timeout D]",
		DisableFlagsInUseLine: true,
		Short:                 "Run a deployment",
		Long:                  runLong,
		Example:               runExample,
		ValidArgsFunction:     completeDeployments(f),
		RunE:                  runE(o),
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&o.Params, "param", "p", nil, "parameter as KEY=VALUE; VALUE is JSON when it parses, else a string (repeatable)")
	fl.StringVar(&o.ParamsFile, "params-file", "", "JSON or YAML file with an object of parameters (-p wins over it)")
	fl.StringArrayVarP(&o.JobVars, "job-variable", "j", nil, "job variable as VAR=VALUE, e.g. -j memory_request=2Gi (repeatable)")
	fl.StringArrayVar(&o.Tags, "tag", nil, "tag to add to the run, counted against tag concurrency limits (repeatable)")
	fl.StringVar(&o.At, "at", "", "start no earlier than this time (RFC 3339, e.g. 2026-11-22T10:00:00Z)")
	fl.DurationVar(&o.In, "in", 0, "start no earlier than this long from now (e.g. 10m)")
	fl.StringVar(&o.Name, "name", "", "name of the run (default: FLOW-DEPLOYMENT-<random>)")
	fl.BoolVar(&o.Wait, "wait", false, "wait until the run ends; the exit status says how (see above)")
	fl.BoolVar(&o.Watch, "watch", false, "print each state change until the run ends; the exit status says how")
	fl.DurationVar(&o.Timeout, "timeout", 0, "with --wait or --watch, give up after this long (exit 6); 0 waits forever")
	fl.BoolVar(&o.ValidateValues, "validate", true, "check parameters and job variables against their schemas before creating the run")
	fl.BoolVar(&o.Local, "local", false, "run the flow here, as a local process in the project directory, instead of in the cluster")
	fl.StringVarP(&o.Output, "output", "o", "", "json or yaml: print the run as `get run -o json|yaml` does, once created, or with --wait once it has ended (instead of its name and summary)")
	fl.StringVar(&o.Python, "python", "", "with --local, the Python that runs the entrypoint (default: python3, else python, on PATH)")
	o.projectFlags.addFlags(fl)
	return cmd
}

// Complete parses the flags: parameters, job variables, the start time,
// and the client of a run in the cluster.
func (o *RunOptions) Complete(args []string) error {
	o.args = args
	if len(args) == 1 {
		o.deployment = args[0]
	}
	o.params = map[string]any{}
	if o.ParamsFile != "" {
		b, err := os.ReadFile(o.ParamsFile)
		if err != nil {
			return fmt.Errorf("--params-file: %w", err)
		}
		if err := yamljson.Unmarshal(b, &o.params); err != nil {
			return fmt.Errorf("--params-file %s: want a JSON or YAML object: %v", o.ParamsFile, err)
		}
		if o.params == nil {
			o.params = map[string]any{}
		}
	}
	if err := parseKeyValues("-p", o.Params, o.params); err != nil {
		return err
	}
	o.jobVars = map[string]any{}
	if err := parseKeyValues("-j", o.JobVars, o.jobVars); err != nil {
		return err
	}
	if o.At != "" {
		t, err := time.Parse(time.RFC3339, o.At)
		if err != nil {
			return fmt.Errorf("--at %q: want an RFC 3339 time such as 2026-11-22T10:00:00Z", o.At)
		}
		o.scheduledAt = &metav1.Time{Time: t.UTC()}
	} else if o.In > 0 {
		o.scheduledAt = &metav1.Time{Time: o.f.now().Add(o.In).UTC().Truncate(time.Second)}
	}
	if o.Local {
		return nil
	}
	var err error
	o.client, err = o.f.FlowsClient()
	return err
}

// Validate checks that the flags go together.
func (o *RunOptions) Validate() error {
	switch {
	case len(o.args) != 1:
		return errors.New("name one deployment as FLOW/NAME, e.g. kubectl flows run hello/default")
	case o.Wait && o.Watch:
		return errors.New("--wait and --watch do not go together: --watch prints the states, --wait only the end")
	case o.Local && (o.Wait || o.Watch || o.At != "" || o.In != 0 || len(o.Tags) > 0):
		return errors.New("--local runs the flow here and now: --wait, --watch, --at, --in and --tag are for runs in the cluster")
	case !o.Local && (o.Python != "" || o.File != "" || len(o.ExtStrs) > 0):
		return errors.New("--python, -f and --ext-str go with --local (a run in the cluster uses the deployment installed there)")
	case o.Output != "" && o.Output != "json" && o.Output != "yaml":
		return fmt.Errorf("-o %q: want json or yaml", o.Output)
	case o.Output != "" && (o.Watch || o.Local):
		return errors.New("-o prints the run object: use it alone or with --wait, not with --watch or --local")
	case o.Timeout != 0 && !o.Wait && !o.Watch && !o.Local:
		return errors.New("--timeout needs --wait or --watch")
	case o.At != "" && o.In != 0:
		return errors.New("--at and --in do not go together")
	case o.In < 0:
		return errors.New("--in must not be negative")
	}
	return nil
}

// parseKeyValues parses KEY=VALUE flags; VALUE is JSON when it parses.
func parseKeyValues(flag string, kvs []string, into map[string]any) error {
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		into[k] = jsonOrString(v)
	}
	return nil
}

func jsonOrString(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err == nil {
		return v
	}
	return s
}

// Run creates the run, then waits or watches.
func (o *RunOptions) Run(ctx context.Context) error {
	if o.Local {
		return o.runLocal(ctx)
	}
	created, err := o.submit(ctx)
	if err != nil {
		return err
	}
	switch {
	case o.Output != "" && !o.Wait:
		return o.printRun(ctx, created)
	case o.Output == "":
		fmt.Fprintln(o.Out, created.Name)
	}
	if !o.Wait && !o.Watch {
		return nil
	}
	if o.Output == "" {
		_, err := waitForRun(ctx, o.client, client.ReadRun(created), o.Timeout, o.Watch, o.Out, o.ErrOut)
		return err
	}
	// With -o the summary is the object: a flow that started a child
	// reads its state, reason and resolved values from stdout, and the
	// exit status says how it ended as always.
	last, err := waitForRun(ctx, o.client, client.ReadRun(created), o.Timeout, false, io.Discard, o.ErrOut)
	if last != nil {
		if perr := o.printRun(ctx, last.ConfigMap); perr != nil {
			return perr
		}
	}
	return err
}

// submit creates the run request, with the run this command runs inside
// of as its parent.
func (o *RunOptions) submit(ctx context.Context) (*corev1.ConfigMap, error) {
	in, err := o.client.Installed(ctx)
	if err != nil {
		return nil, err
	}
	d, err := o.client.Deployment(in, o.deployment)
	if err != nil {
		return nil, err
	}
	req := &v1alpha1.RunRequest{Deployment: d.FullName(), ScheduledTime: o.scheduledAt, Tags: o.Tags}
	if job := os.Getenv(jobtemplate.EnvRunName); job != "" {
		if req.Parent, err = o.client.RunOfJob(ctx, job); err != nil {
			return nil, err
		}
		if req.Parent == nil {
			fmt.Fprintf(o.ErrOut, "warning: %s=%s names no run in namespace %q; the run is started without a parent\n", jobtemplate.EnvRunName, job, o.client.Namespace())
		}
	}
	if len(o.params) > 0 {
		req.Parameters = o.params
	}
	if len(o.jobVars) > 0 {
		req.JobVariables = o.jobVars
	}
	created, err := o.client.Submit(ctx, in, d, req, o.Name, o.ValidateValues)
	var invalid *client.InvalidError
	if errors.As(err, &invalid) {
		return nil, &ExitError{Code: ExitRejected, Err: err}
	}
	return created, err
}

// printRun prints a run as `get run NAME -o json|yaml` does.
func (o *RunOptions) printRun(ctx context.Context, cm *corev1.ConfigMap) error {
	s, err := o.client.Snapshot(ctx)
	if err != nil {
		return err
	}
	printWarnings(o.ErrOut, s)
	r := client.ReadRun(cm)
	v := s.With(r).ViewRun(r)
	var p cliprinters.ResourcePrinter = &cliprinters.JSONPrinter{}
	if o.Output == "yaml" {
		p = &cliprinters.YAMLPrinter{}
	}
	return p.PrintObj(printers.RunObject(&v), o.Out)
}
