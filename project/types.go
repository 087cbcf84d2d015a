// Package project is the project file of kubectl-flows (flows.yaml: work
// pools, queues, tag limits, deployments), how it is loaded from YAML or
// Jsonnet and validated, how a run of one of its deployments resolves, and
// the installed config as read back from the cluster. The documents it is
// made of, and every name on the wire, are api/v1alpha1's.
package project

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

const (
	// Kind identifies a project file (apiVersion v1alpha1.APIVersion).
	Kind = "Project"

	// DefaultReplicas gives the reconciler a standby for leader failover.
	DefaultReplicas = 2
	// DefaultReconcilerImage is the published reconciler image; render
	// tags it with the plugin's own version (ReconcilerImage).
	DefaultReconcilerImage = "ghcr.io/kubectl-flows/flows-reconciler"
)

// ReconcilerImage is the reconciler image render installs when the project
// names none: tagged with the plugin's version, the one it was released
// with; a development build (no version, "dev", or a dirty tree) points at
// the moving "latest". `make image` tags its build the same way.
func ReconcilerImage(version string) string {
	tag := version
	if version == "" || version == "dev" || strings.Contains(version, "dirty") {
		tag = "latest"
	}
	return DefaultReconcilerImage + ":" + tag
}

// Project is the whole project file.
type Project struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Name names the project; it labels everything rendered.
	Name string `json:"name"`
	// Namespace is where the reconciler, the config and the runs live.
	Namespace  string     `json:"namespace"`
	Reconciler Reconciler `json:"reconciler,omitempty"`
	// RunRetention is the default for every pool that sets none.
	RunRetention      *v1alpha1.Retention   `json:"runRetention,omitempty"`
	Pools             []v1alpha1.Pool       `json:"pools"`
	ConcurrencyLimits []v1alpha1.TagLimit   `json:"concurrencyLimits,omitempty"`
	Deployments       []v1alpha1.Deployment `json:"deployments,omitempty"`
	// Notifications go to webhooks for every deployment's runs (see
	// v1alpha1.Notification); a deployment may add its own.
	Notifications []v1alpha1.Notification `json:"notifications,omitempty"`
}

// Reconciler configures the in-cluster reconciler install.
type Reconciler struct {
	Image     string                       `json:"image,omitempty"`
	Replicas  *int32                       `json:"replicas,omitempty"`
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// Pool returns the named pool, or nil.
func (p *Project) Pool(name string) *v1alpha1.Pool {
	for i := range p.Pools {
		if p.Pools[i].Name == name {
			return &p.Pools[i]
		}
	}
	return nil
}
