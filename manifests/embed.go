// Package manifests holds the kustomize base of the reconciler install.
// `kubectl flows render` builds it in process with krusty, setting the
// project's namespace, image, replicas and resources, so the binary needs
// no files beside it.
package manifests

import "embed"

// Base is the kustomize base; its kustomization.yaml is at the root.
//
//go:embed *.yaml
var Base embed.FS

// Names of the objects in the base that render customises.
const (
	Name      = "flows-reconciler"
	ImageName = "flows-reconciler"
)
