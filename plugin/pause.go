package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/util/retry"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
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

// PauseOptions is `kubectl flows pause` and `resume`.
type PauseOptions struct {
	pause bool
	kind  string
	name  string
	f     *Factory
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
	verb, short := "pause", "Pause a deployment, queue or pool"
	long, example := pauseLong, pauseExample
	if !pause {
		verb, short = "resume", "Resume a paused deployment, queue or pool"
		long = templates.LongDesc(`
			Resume what kubectl flows pause paused: remove the pause annotation.
			Something paused in the project file (paused: true) stays paused
			until the file says otherwise and is rendered and applied again;
			resume says so.`)
		example = templates.Examples(`
			kubectl flows resume deployment hello/arthur
			kubectl flows resume queue kubernetes/default`)
	}
	return &cobra.Command{
		Use:                   verb + " (deployment|queue|pool) NAME",
		DisableFlagsInUseLine: true,
		Short:                 short,
		Long:                  long,
		Example:               example,
		ValidArgsFunction:     completeKindName(f, "deployment", "queue", "pool"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("usage: kubectl flows %s (deployment|queue|pool) NAME", verb)
			}
			k := kindFor(args[0])
			if k == nil || (k.plural != "deployments" && k.plural != "queues" && k.plural != "pools") {
				return fmt.Errorf("%s works on a deployment, queue or pool, not %q", verb, args[0])
			}
			o.kind, o.name = k.plural, args[1]
			return o.Run(cmd.Context())
		},
	}
}

// Run sets or clears the pause annotation.
func (o *PauseOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	in, err := o.f.readInstalled(ctx)
	if err != nil {
		return err
	}
	verb := "paused"
	if !o.pause {
		verb = "resumed"
	}
	switch o.kind {
	case "deployments":
		d, err := o.f.deployment(in, o.name)
		if err != nil {
			return err
		}
		if err := o.annotate(ctx, d.ConfigMap.Name, v1alpha1.AnnotationPaused, func(string) string {
			if o.pause {
				return "true"
			}
			return ""
		}); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "deployment %s %s\n", d.FullName(), verb)
		if !o.pause && d.Paused {
			return errors.New("it stays paused: the project file sets paused: true for it; change that, render and apply")
		}
	case "pools":
		p := in.Pools[o.name]
		if p == nil {
			return o.notFound("pool", o.name, in.PoolNames())
		}
		if err := o.annotate(ctx, p.ConfigMap.Name, v1alpha1.AnnotationPaused, func(string) string {
			if o.pause {
				return "true"
			}
			return ""
		}); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "pool %s %s\n", p.Name, verb)
		if !o.pause && p.Paused {
			return errors.New("it stays paused: the project file sets paused: true for it; change that, render and apply")
		}
	case "queues":
		poolName, qName, ok := strings.Cut(o.name, "/")
		if !ok {
			// A bare queue name is fine when one pool has it.
			var match []string
			for _, n := range in.QueueNames() {
				if strings.HasSuffix(n, "/"+o.name) {
					match = append(match, n)
				}
			}
			if len(match) != 1 {
				return fmt.Errorf("name the queue as POOL/QUEUE (queues: %s)", strings.Join(in.QueueNames(), ", "))
			}
			poolName, qName, _ = strings.Cut(match[0], "/")
		}
		p := in.Pools[poolName]
		if p == nil || p.Queue(qName) == nil {
			return o.notFound("queue", o.name, in.QueueNames())
		}
		if err := o.annotate(ctx, p.ConfigMap.Name, v1alpha1.AnnotationPausedQueues, func(cur string) string {
			set := map[string]bool{}
			for _, q := range v1alpha1.SplitList(cur) {
				set[q] = true
			}
			if o.pause {
				set[qName] = true
			} else {
				delete(set, qName)
			}
			var qs []string
			for q := range set {
				qs = append(qs, q)
			}
			sort.Strings(qs)
			return strings.Join(qs, ",")
		}); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "queue %s/%s %s\n", poolName, qName, verb)
		if !o.pause && p.Queue(qName).Paused {
			return errors.New("it stays paused: the project file sets paused: true for it; change that, render and apply")
		}
	}
	return nil
}

func (o *PauseOptions) notFound(kind, name string, names []string) error {
	hint := ""
	if c := project.Closest(name, names, 3); len(c) > 0 {
		hint = "; did you mean " + strings.Join(c, ", ") + "?"
	}
	return fmt.Errorf("%s %q not found in namespace %q%s", kind, name, o.f.ns, hint)
}

// annotate sets (or, for "", removes) one annotation of a config
// ConfigMap from its current value, retrying on conflict: two people
// pausing two queues of one pool at once both win.
func (o *PauseOptions) annotate(ctx context.Context, cmName, key string, value func(cur string) string) error {
	c, err := o.f.KubeClient()
	if err != nil {
		return err
	}
	ns := o.f.ns
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, cmName, metav1.GetOptions{})
		if err != nil {
			return o.f.apiError(err, "get", "configmaps")
		}
		cur, had := cm.Annotations[key]
		v := value(cur)
		if v == cur && (had || v == "") {
			return nil
		}
		var av any = v
		if v == "" {
			av = nil // merge patch: remove
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": cm.ResourceVersion,
			"annotations":     map[string]any{key: av},
		}})
		_, err = c.CoreV1().ConfigMaps(ns).Patch(ctx, cmName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager})
		if err != nil {
			return o.f.apiError(err, "patch", "configmaps")
		}
		return nil
	})
}
