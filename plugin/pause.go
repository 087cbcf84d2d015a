package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/printers"
)

var pauseLong = templates.LongDesc(`
	Pause a deployment, a work queue (POOL/QUEUE) or a whole work pool: runs
	that wait for it stay Scheduled (reason Paused) and runs already going
	carry on. Schedules of a paused deployment do not fire.

	The pause is an annotation on the object's ConfigMap
	(kubectl-flows.dev/paused, or kubectl-flows.dev/paused-queues on the
	pool's), shown by get as "paused (kubectl)". It lasts until resume, or
	until the next apply of the rendered manifests overrides it; to pause
	for good, set paused: true in the project file and render.`)

var pauseExample = templates.Examples(`
	kubectl flows pause deployment hello/arthur
	kubectl flows pause queue kubernetes/default
	kubectl flows resume pool kubernetes`)

var resumeLong = templates.LongDesc(`
	Resume what kubectl flows pause paused: remove the pause annotation.
	Something paused in the project file (paused: true) stays paused
	until the file says otherwise and is rendered and applied again;
	resume says so.`)

var resumeExample = templates.Examples(`
	kubectl flows resume deployment hello/arthur
	kubectl flows resume queue kubernetes/default`)

// pauseKinds are the kinds pause and resume act on.
var pauseKinds = []*printers.Kind{printers.DeploymentKind, printers.QueueKind, printers.PoolKind}

// PauseOptions is `kubectl flows pause` and `resume`.
type PauseOptions struct {
	pause bool
	kindArgs
	client *client.Client
	f      *Factory
	genericiooptions.IOStreams
}

// NewCmdPause is `kubectl flows pause`.
func NewCmdPause(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdPauseResume(f, streams, true)
}

// NewCmdResume is `kubectl flows resume`.
func NewCmdResume(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdPauseResume(f, streams, false)
}

func newCmdPauseResume(f *Factory, streams genericiooptions.IOStreams, pause bool) *cobra.Command {
	o := &PauseOptions{pause: pause, f: f, IOStreams: streams}
	short, long, example := "Pause a deployment, queue or pool", pauseLong, pauseExample
	if !pause {
		short, long, example = "Resume a paused deployment, queue or pool", resumeLong, resumeExample
	}
	return &cobra.Command{
		Use:                   o.verb() + " " + kindChoice(pauseKinds) + " NAME",
		DisableFlagsInUseLine: true,
		Short:                 short,
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     completeKindName(f, "deployment", "queue", "pool"),
		RunE:                  runE(o),
	}
}

func (o *PauseOptions) verb() string {
	if o.pause {
		return "pause"
	}
	return "resume"
}

// Complete finds the kind and the client.
func (o *PauseOptions) Complete(args []string) error {
	o.complete(args)
	var err error
	o.client, err = o.f.FlowsClient()
	return err
}

// Validate checks the kind.
func (o *PauseOptions) Validate() error { return o.validate(o.verb(), pauseKinds) }

// Run sets or clears the pause annotation.
func (o *PauseOptions) Run(ctx context.Context) error {
	in, err := o.client.Installed(ctx)
	if err != nil {
		return err
	}
	kind := o.kind.Aliases[0] // deployment, queue, pool
	done, err := o.client.SetPaused(ctx, in, kind, o.name, o.pause)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s %sd\n", done.What, o.verb())
	if done.StaysPaused {
		return errors.New("it stays paused: the project file sets paused: true for it; change that, render and apply")
	}
	return nil
}
