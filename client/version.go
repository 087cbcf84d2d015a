package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReconcilerName is the name of the reconciler's Deployment, container
// and leader election Lease, as render installs them.
const ReconcilerName = "flows-reconciler"

// ReconcilerVersion is what runs in the namespace.
type ReconcilerVersion struct {
	Namespace string `json:"namespace"`
	// Version is the reconciler image's tag ("" when not installed).
	Version       string `json:"version,omitempty"`
	Image         string `json:"image,omitempty"`
	Replicas      int32  `json:"replicas"`
	ReadyReplicas int32  `json:"readyReplicas"`
	// Leader holds the leader election Lease, when one does.
	Leader string `json:"leader,omitempty"`
}

// Reconciler reads the reconciler's Deployment and leader Lease.
func (c *Client) Reconciler(ctx context.Context) (*ReconcilerVersion, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	r := &ReconcilerVersion{Namespace: c.ns}
	d, err := c.kube.AppsV1().Deployments(c.ns).Get(ctx, ReconcilerName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, c.Explain(err, "get", "deployments")
	default:
		for _, ct := range d.Spec.Template.Spec.Containers {
			if ct.Name == "reconciler" || len(d.Spec.Template.Spec.Containers) == 1 {
				r.Image = ct.Image
			}
		}
		r.Version = imageVersion(r.Image)
		if d.Spec.Replicas != nil {
			r.Replicas = *d.Spec.Replicas
		}
		r.ReadyReplicas = d.Status.ReadyReplicas
	}
	lease, err := c.kube.CoordinationV1().Leases(c.ns).Get(ctx, ReconcilerName, metav1.GetOptions{})
	if err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
		r.Leader = *lease.Spec.HolderIdentity
		if rt := lease.Spec.RenewTime; rt != nil {
			r.Leader += fmt.Sprintf(" (renewed %s ago)", Age(c.now(), rt.Time))
		}
	}
	return r, nil
}

// Text is the reconciler's line of `kubectl flows version`.
func (r *ReconcilerVersion) Text() string {
	var parts []string
	if r.Image == "" {
		parts = append(parts, fmt.Sprintf("not installed in namespace %s", r.Namespace))
	} else {
		parts = append(parts, fmt.Sprintf("%s (%s) in namespace %s, %d/%d ready", r.Version, r.Image, r.Namespace, r.ReadyReplicas, r.Replicas))
	}
	if r.Leader != "" {
		parts = append(parts, "leader "+r.Leader)
	}
	return strings.Join(parts, "; ")
}

// imageVersion is an image reference's tag (or digest).
func imageVersion(image string) string {
	name := image
	if i := strings.Index(name, "@"); i >= 0 {
		return name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	return "latest"
}
