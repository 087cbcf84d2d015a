package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

var logsLong = templates.LongDesc(`
	Print the log of a run's pod (the newest, when its Job retried). With -f
	it waits for the pod to start and follows the log until the pod ends.

	The log comes from the node's kubelet through the API server, as with
	kubectl logs. When the pod is gone or its node cannot serve logs, the
	end of the log the reconciler saved in the run's status (for Failed and
	Crashed runs) is printed instead, and said so.`)

var logsExample = templates.Examples(`
	kubectl flows logs hello-default-x7k2p
	kubectl flows logs hello-default-x7k2p -f --timestamps
	kubectl flows logs hello-default-x7k2p --tail 20`)

// LogsOptions is `kubectl flows logs`.
type LogsOptions struct {
	Follow     bool
	Tail       int64
	Timestamps bool
	Container  string
	run        string
	f          *Factory
	genericiooptions.IOStreams
}

// NewCmdLogs is `kubectl flows logs`.
func NewCmdLogs(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &LogsOptions{f: f, IOStreams: streams, Tail: -1}
	cmd := &cobra.Command{
		Use:                   "logs RUN [-f] [--tail N] [--timestamps]",
		DisableFlagsInUseLine: true,
		Short:                 "Print the logs of a run's pod",
		Long:                  logsLong,
		Example:               logsExample,
		ValidArgsFunction:     completeRuns(f, false, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("name one run: kubectl flows logs RUN")
			}
			o.run = args[0]
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "wait for the pod to start, then stream its log until it ends")
	cmd.Flags().Int64Var(&o.Tail, "tail", o.Tail, "lines from the end of the log to show; -1 shows all")
	cmd.Flags().BoolVar(&o.Timestamps, "timestamps", false, "prefix each line with its RFC 3339 time")
	cmd.Flags().StringVarP(&o.Container, "container", "c", "", "container of the pod (default: the pod's default or only container)")
	return cmd
}

// Run prints the log.
func (o *LogsOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	r, err := o.f.getRun(ctx, o.run)
	if err != nil {
		return err
	}
	c, err := o.f.KubeClient()
	if err != nil {
		return err
	}
	ns := r.ConfigMap.Namespace
	job := r.Status.JobName
	if job == "" {
		job = v1alpha1.JobName(r.ConfigMap.Name)
	}
	sel := labels.Set{v1alpha1.LabelRunName: job}.String()
	pod, err := o.newestPod(ctx, ns, sel)
	if err != nil {
		return err
	}
	if pod == nil || (o.Follow && !podStarted(pod)) {
		if !o.Follow {
			return o.noPod(r)
		}
		fmt.Fprintf(o.ErrOut, "waiting for the pod of run %s to start...\n", r.ConfigMap.Name)
		if pod, err = o.waitForPod(ctx, r, sel); err != nil {
			return err
		}
		if pod == nil {
			r, _ = o.f.getRun(ctx, o.run)
			return o.noPod(r)
		}
	}
	container := o.Container
	if container == "" {
		container = defaultContainer(pod)
	}
	opts := &corev1.PodLogOptions{Container: container, Follow: o.Follow, Timestamps: o.Timestamps}
	if o.Tail >= 0 {
		opts.TailLines = &o.Tail
	}
	stream, err := c.CoreV1().Pods(ns).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		return o.logError(r, pod, err)
	}
	defer stream.Close()
	if _, err := io.Copy(o.Out, stream); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// podStarted reports whether a pod has (or had) running containers.
func podStarted(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func defaultContainer(p *corev1.Pod) string {
	if c := p.Annotations["kubectl.kubernetes.io/default-container"]; c != "" {
		return c
	}
	for _, c := range p.Spec.Containers {
		if c.Name == "flow" {
			return c.Name
		}
	}
	if len(p.Spec.Containers) > 0 {
		return p.Spec.Containers[0].Name
	}
	return ""
}

func (o *LogsOptions) newestPod(ctx context.Context, ns, sel string) (*corev1.Pod, error) {
	c, _ := o.f.KubeClient()
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, o.f.apiError(err, "list", "pods")
	}
	if len(pods.Items) == 0 {
		return nil, nil
	}
	sort.Slice(pods.Items, func(i, j int) bool {
		return pods.Items[j].CreationTimestamp.Before(&pods.Items[i].CreationTimestamp)
	})
	if len(pods.Items) > 1 {
		fmt.Fprintf(o.ErrOut, "the Job made %d pods; showing the newest, %s\n", len(pods.Items), pods.Items[0].Name)
	}
	return &pods.Items[0], nil
}

// waitForPod waits until a pod of the run has started, or the run ended
// without one (nil pod).
func (o *LogsOptions) waitForPod(ctx context.Context, r *project.RunInfo, sel string) (*corev1.Pod, error) {
	c, _ := o.f.KubeClient()
	ns := r.ConfigMap.Namespace
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ended := make(chan struct{})
	go func() {
		// Watch the run too: one that ends without a pod ends the wait.
		_, err := watchtools.UntilWithSync(ctx, runWatcher(c, ns, r.ConfigMap.Name), &corev1.ConfigMap{}, nil, func(ev watch.Event) (bool, error) {
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok || cm.Name != r.ConfigMap.Name {
				return false, nil
			}
			return ev.Type == watch.Deleted || project.ReadRun(cm).State().Final(), nil
		})
		if err == nil {
			close(ended)
		}
	}()
	pods := c.CoreV1().Pods(ns)
	lw := listWatch(pods.List, pods.Watch, withLabels(sel))
	found := make(chan *corev1.Pod, 1)
	errc := make(chan error, 1)
	go func() {
		ev, err := watchtools.UntilWithSync(ctx, cache.ToListWatcherWithWatchListSemantics(lw, c), &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
			p, ok := ev.Object.(*corev1.Pod)
			want, _ := labels.Parse(sel)
			return ok && want.Matches(labels.Set(p.Labels)) && ev.Type != watch.Deleted && podStarted(p), nil
		})
		if err != nil {
			errc <- err
			return
		}
		found <- ev.Object.(*corev1.Pod)
	}()
	select {
	case p := <-found:
		return p, nil
	case <-ended:
		// The run ended; a pod that ran may still have appeared.
		select {
		case p := <-found:
			return p, nil
		default:
		}
		return o.newestPod(context.Background(), ns, sel)
	case err := <-errc:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, o.f.apiError(err, "watch", "pods")
	}
}

// noPod explains why there is no log to show, printing the saved tail
// when there is one.
func (o *LogsOptions) noPod(r *project.RunInfo) error {
	st := r.Status
	why := fmt.Sprintf("run %s is %s", r.ConfigMap.Name, r.State())
	if st.Reason != "" {
		why += " (" + st.Reason
		if st.Message != "" {
			why += ": " + st.Message
		}
		why += ")"
	}
	if st.LogTail != "" {
		fmt.Fprintf(o.ErrOut, "%s and its pod is gone; the end of its log, saved by the reconciler:\n", why)
		fmt.Fprint(o.Out, st.LogTail)
		return nil
	}
	if !r.State().Final() {
		return fmt.Errorf("%s and has no pod yet; use -f to wait for it", why)
	}
	return fmt.Errorf("%s and has no pod, so no log", why)
}

// logError says why a log could not be read, falling back to the tail the
// reconciler saved.
func (o *LogsOptions) logError(r *project.RunInfo, pod *corev1.Pod, err error) error {
	msg := o.f.apiError(err, "get", "pods/log").Error()
	if strings.Contains(msg, "forbidden") {
		return errors.New(msg)
	}
	node := pod.Spec.NodeName
	if node == "" {
		node = "(not scheduled)"
	}
	if apierrors.IsNotFound(err) {
		msg = "the API server could not get it from the node's kubelet, which serves no logs for this pod (fake nodes, such as kwok's, run no containers and serve none): " + msg
	}
	e := fmt.Errorf("cannot read the log of pod %s on node %s: %s", pod.Name, node, msg)
	if r.Status.LogTail != "" {
		fmt.Fprintf(o.ErrOut, "warning: %v\nthe end of its log, saved by the reconciler:\n", e)
		fmt.Fprint(o.Out, r.Status.LogTail)
		return nil
	}
	return e
}
