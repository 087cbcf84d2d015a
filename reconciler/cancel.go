package reconciler

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// cancelsByRunIndex indexes cancel requests by the run they name, as
// name/UID: a request counts only for the run of that UID.
const cancelsByRunIndex = "run"

func cancelIndexers() cache.Indexers {
	return cache.Indexers{cancelsByRunIndex: func(obj any) ([]string, error) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return nil, nil
		}
		req, err := v1alpha1.DecodeCancelRequest(cm)
		if err != nil {
			return nil, nil
		}
		return []string{req.Run + "/" + string(req.RunUID)}, nil
	}}
}

// cancelRequested reports whether a run is to be cancelled (see
// cancelCause).
func (c *Controller) cancelRequested(cm *corev1.ConfigMap) bool { return c.cancelCause(cm) != "" }

// cancelCause says why a run is to be cancelled, or "" when it is not: by
// request, or with its parent (which is being cancelled, or was).
func (c *Controller) cancelCause(cm *corev1.ConfigMap) string {
	if c.ownCancelRequested(cm) {
		return "by request"
	}
	if parent := c.cancelledParent(cm, maxParentDepth); parent != "" {
		return "with its parent run " + parent
	}
	return ""
}

// ownCancelRequested reports whether the run itself is asked to stop: by
// a cancel request naming it and its UID (what submitters can make), or
// by the cancel annotation (what whoever may edit the run can set, and
// what the run's creator may set at creation).
func (c *Controller) ownCancelRequested(cm *corev1.ConfigMap) bool {
	if _, ok := cm.Annotations[v1alpha1.AnnotationCancel]; ok {
		return true
	}
	return indexCount(c.cancels, cancelsByRunIndex, cm.Name+"/"+string(cm.UID)) > 0
}

func (c *Controller) cancelRequestAdded(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	if req, err := v1alpha1.DecodeCancelRequest(cm); err == nil {
		c.queue.Add(req.Run)
		c.requestPass()
	}
}

// cancelRequestGrace is how long a cancel request whose run is not in the
// cache is kept: the run may be newer than the cache.
const cancelRequestGrace = time.Minute

// pruneCancelRequests deletes cancel requests that are done: their run has
// ended or is gone, or they do not decode (a cancel request is never
// updated, so one that does not decode never will).
func (c *Controller) pruneCancelRequests(ctx context.Context) {
	reqs, err := c.cancelLister.List(labels.Everything())
	if err != nil {
		return
	}
	now := c.opts.Now()
	for _, r := range reqs {
		done := false
		req, err := v1alpha1.DecodeCancelRequest(r)
		switch {
		case err != nil:
			done = true
		default:
			run, gerr := c.runs.Get(req.Run)
			switch {
			case gerr == nil && run.UID == req.RunUID:
				done = c.state.stateOf(run).Final()
			default:
				done = now.Sub(r.CreationTimestamp.Time) > cancelRequestGrace
			}
		}
		if !done {
			continue
		}
		uid := r.UID
		err = c.client.CoreV1().ConfigMaps(c.opts.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			c.log.Error("deleting cancel request", "request", r.Name, "err", err)
		}
	}
}
