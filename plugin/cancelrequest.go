package plugin

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// cancelRequests indexes cancel requests (v1alpha1.NewCancelRequest) by the
// run they name. A request counts for a run only when both its name and
// its UID match: one left over from an earlier run of the same name is not
// this run's. Requests that do not decode are skipped; the reconciler
// reports them.
type cancelRequests map[cancelKey]*corev1.ConfigMap

type cancelKey struct {
	run string
	uid types.UID
}

func readCancelRequests(items []corev1.ConfigMap) cancelRequests {
	out := cancelRequests{}
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

// forRun returns the cancel request for run, or nil.
func (c cancelRequests) forRun(run *corev1.ConfigMap) *corev1.ConfigMap {
	if run.UID == "" {
		return nil
	}
	return c[cancelKey{run.Name, run.UID}]
}

// listCancelRequests lists the namespace's cancel requests.
func (f *Factory) listCancelRequests(ctx context.Context) (cancelRequests, error) {
	items, err := f.listConfigMaps(ctx, v1alpha1.LabelCancelRequest+"=true")
	if err != nil {
		return nil, err
	}
	return readCancelRequests(items), nil
}
