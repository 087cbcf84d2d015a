package client

import (
	"context"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CanI asks the API server whether the user may do verb on resource in
// the project namespace (a SelfSubjectAccessReview), so a page offers
// only what the user may do; the API server still decides each request.
// A resource of a group is named as kubectl auth can-i names it:
// "jobs.batch".
func (c *Client) CanI(ctx context.Context, verb, resource string) bool {
	resource, group, _ := strings.Cut(resource, ".")
	r, err := c.kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: c.ns, Verb: verb, Group: group, Resource: resource,
		}},
	}, metav1.CreateOptions{})
	return err == nil && r.Status.Allowed
}

// CanSubmit reports whether the user may submit runs (Submit).
func (c *Client) CanSubmit(ctx context.Context) bool { return c.CanI(ctx, "create", "configmaps") }

// CanCancel reports whether the user may cancel runs (Cancel: a cancel
// request is a ConfigMap created).
func (c *Client) CanCancel(ctx context.Context) bool { return c.CanI(ctx, "create", "configmaps") }
