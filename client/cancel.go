package client

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// CancelRequests indexes cancel requests (v1alpha1.NewCancelRequest) by the
// run they name. A request counts for a run only when both its name and
// its UID match: one left over from an earlier run of the same name is not
// this run's. Requests that do not decode are skipped; the reconciler
// reports them.
type CancelRequests map[cancelKey]*corev1.ConfigMap

type cancelKey struct {
	run string
	uid types.UID
}

// ReadCancelRequests indexes the cancel requests among items.
func ReadCancelRequests(items []corev1.ConfigMap) CancelRequests {
	out := CancelRequests{}
	for i := range items {
		cm := &items[i]
		if cm.Labels[v1alpha1.LabelCancelRequest] != "true" {
			continue
		}
		req, err := v1alpha1.DecodeCancelRequest(cm)
		if err != nil {
			continue
		}
		k := cancelKey{req.Run, req.RunUID}
		if old, ok := out[k]; ok && !cm.CreationTimestamp.Before(&old.CreationTimestamp) {
			continue // the first request is the one to show
		}
		out[k] = cm
	}
	return out
}

// ForRun returns the cancel request for run, or nil.
func (c CancelRequests) ForRun(run *corev1.ConfigMap) *corev1.ConfigMap {
	if run.UID == "" {
		return nil
	}
	return c[cancelKey{run.Name, run.UID}]
}

// CancelAsked is how a run that has not ended was asked to stop, as the
// reconciler honours it: by the cancel annotation (whoever may edit the
// run) or by a cancel request naming it and its UID. Nil when it was not.
type CancelAsked struct {
	// Annotation is the annotation's value, when it was set.
	Annotation *string
	// Request is the cancel request, when there is one.
	Request *corev1.ConfigMap
}

// cancelAsked applies the rule to a run.
func cancelAsked(r *RunInfo, reqs CancelRequests) *CancelAsked {
	if r.State().Final() {
		return nil
	}
	if v, ok := r.ConfigMap.Annotations[v1alpha1.AnnotationCancel]; ok {
		return &CancelAsked{Annotation: &v}
	}
	if req := reqs.ForRun(r.ConfigMap); req != nil {
		return &CancelAsked{Request: req}
	}
	return nil
}

// ListCancelRequests lists the namespace's cancel requests.
func (c *Client) ListCancelRequests(ctx context.Context) (CancelRequests, error) {
	items, err := c.listConfigMaps(ctx, v1alpha1.LabelCancelRequest+"=true")
	if err != nil {
		return nil, err
	}
	return ReadCancelRequests(items), nil
}

// Cancel asks the reconciler to cancel a run that has not ended, the one
// way runs are cancelled: `kubectl flows cancel` and the dashboard's
// Cancel button. pending are the cancel requests already made (nil to
// list them); one request per run is enough, and the one made is added.
func (c *Client) Cancel(ctx context.Context, r *RunInfo, pending CancelRequests) error {
	name := r.ConfigMap.Name
	if s := r.State(); s.Final() {
		return &InvalidError{Err: fmt.Errorf("run %s already ended %s", name, s)}
	}
	if pending == nil {
		var err error
		if pending, err = c.ListCancelRequests(ctx); err != nil {
			return err
		}
	}
	// A cancel request, never an edit of the run: submitters (the
	// flows-submitter Role) may create ConfigMaps but not update them.
	if pending.ForRun(r.ConfigMap) != nil {
		return nil
	}
	req, err := v1alpha1.NewCancelRequest(r.ConfigMap)
	if err != nil {
		return err
	}
	created, err := c.kube.CoreV1().ConfigMaps(r.ConfigMap.Namespace).Create(ctx, req, metav1.CreateOptions{FieldManager: FieldManager})
	if err != nil {
		return c.Explain(err, "create", "configmaps")
	}
	pending[cancelKey{name, r.ConfigMap.UID}] = created // a run named twice gets one request
	return nil
}

// NotStarted are the runs of a deployment (named as Deployment finds it)
// that have not started, Scheduled or Pending, with the deployment's
// flow/name.
func (c *Client) NotStarted(ctx context.Context, deployment string) (string, []*RunInfo, error) {
	in, err := c.Installed(ctx)
	if err != nil {
		return "", nil, err
	}
	d, err := c.Deployment(in, deployment)
	if err != nil {
		return "", nil, err
	}
	all, err := c.ListRuns(ctx)
	if err != nil {
		return "", nil, err
	}
	var runs []*RunInfo
	for _, r := range all {
		if s := r.State(); r.Deployment() == d.FullName() && (s == v1alpha1.StateScheduled || s == v1alpha1.StatePending) {
			runs = append(runs, r)
		}
	}
	return d.FullName(), runs, nil
}
