package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// LogOptions say which log Log writes.
type LogOptions struct {
	// Follow waits for the pod to start, then streams its log until it
	// ends.
	Follow bool
	// Tail is how many lines from the end; -1 for all.
	Tail       int64
	Timestamps bool
	// Container of the pod; default the pod's default or only container.
	Container string
}

// Log writes the log of a run's pod (the newest, when its Job retried) to
// out, as `kubectl logs` reads it, and what a person should know (which
// pod, that it waits for one) to notes. When the pod is gone or its node
// serves no log, it writes the end of the log the reconciler saved in the
// run's status, and says so.
func (c *Client) Log(ctx context.Context, r *RunInfo, o LogOptions, out, notes io.Writer) error {
	sel := labels.Set{v1alpha1.LabelRunName: r.JobName()}.String()
	pod, err := c.newestPod(ctx, sel, notes)
	if err != nil {
		return err
	}
	if pod == nil || (o.Follow && !podStarted(pod)) {
		if !o.Follow {
			return noPod(r, out, notes)
		}
		fmt.Fprintf(notes, "waiting for the pod of run %s to start...\n", r.ConfigMap.Name)
		if pod, err = c.waitForPod(ctx, r, sel, notes); err != nil {
			return err
		}
		if pod == nil {
			if again, err := c.GetRun(ctx, r.ConfigMap.Name); err == nil {
				r = again
			}
			return noPod(r, out, notes)
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
	stream, err := c.kube.CoreV1().Pods(c.ns).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		return c.logError(r, pod, err, out, notes)
	}
	defer stream.Close()
	if _, err := io.Copy(out, stream); err != nil && !errors.Is(err, context.Canceled) {
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

func (c *Client) newestPod(ctx context.Context, sel string, notes io.Writer) (*corev1.Pod, error) {
	pods, err := c.kube.CoreV1().Pods(c.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, c.Explain(err, "list", "pods")
	}
	if len(pods.Items) == 0 {
		return nil, nil
	}
	sort.Slice(pods.Items, func(i, j int) bool {
		return pods.Items[j].CreationTimestamp.Before(&pods.Items[i].CreationTimestamp)
	})
	if len(pods.Items) > 1 {
		fmt.Fprintf(notes, "the Job made %d pods; showing the newest, %s\n", len(pods.Items), pods.Items[0].Name)
	}
	return &pods.Items[0], nil
}

// waitForPod waits until a pod of the run has started, or the run ended
// without one (nil pod).
func (c *Client) waitForPod(ctx context.Context, r *RunInfo, sel string, notes io.Writer) (*corev1.Pod, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ended := make(chan struct{})
	go func() {
		// Follow the run too: one that ends without a pod ends the wait.
		if _, err := c.FollowRun(ctx, r.ConfigMap.Name, func(*RunInfo) {}); err == nil || errors.As(err, new(*RunDeletedError)) {
			close(ended)
		}
	}()
	pods := c.kube.CoreV1().Pods(c.ns)
	lw := cache.ToListWatcherWithWatchListSemantics(listWatch(pods.List, pods.Watch, withLabels(sel)), c.kube)
	found := make(chan *corev1.Pod, 1)
	errc := make(chan error, 1)
	go func() {
		ev, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
			p, ok := ev.Object.(*corev1.Pod)
			return ok && ev.Type != watch.Deleted && podStarted(p), nil
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
		return c.newestPod(context.WithoutCancel(ctx), sel, notes)
	case err := <-errc:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.Explain(err, "watch", "pods")
	}
}

// noPod explains why there is no log to show, writing the saved tail
// when there is one.
func noPod(r *RunInfo, out, notes io.Writer) error {
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
		fmt.Fprintf(notes, "%s and its pod is gone; the end of its log, saved by the reconciler:\n", why)
		fmt.Fprint(out, st.LogTail)
		return nil
	}
	if !r.State().Final() {
		return fmt.Errorf("%s and has no pod yet; use -f to wait for it", why)
	}
	return fmt.Errorf("%s and has no pod, so no log", why)
}

// logError says why a log could not be read, falling back to the tail the
// reconciler saved.
func (c *Client) logError(r *RunInfo, pod *corev1.Pod, err error, out, notes io.Writer) error {
	msg := c.Explain(err, "get", "pods/log").Error()
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
		fmt.Fprintf(notes, "warning: %v\nthe end of its log, saved by the reconciler:\n", e)
		fmt.Fprint(out, r.Status.LogTail)
		return nil
	}
	return e
}
