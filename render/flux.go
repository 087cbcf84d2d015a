package render

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// FluxOptions add a Flux GitRepository and Kustomization that keep the
// cluster in step with the rendered directory, as `flux create source git`
// and `flux create kustomization` would write them.
type FluxOptions struct {
	// Source is the git URL; empty means no Flux objects.
	Source string
	Branch string
	// Path is the rendered directory relative to the repository root.
	Path string
	// Namespace holds the Flux objects (flux-system by default).
	Namespace string
	// SecretRef names the Secret with git credentials, if any.
	SecretRef string
}

func fluxObjects(p *project.Project, o FluxOptions) ([]any, error) {
	if o.Branch == "" {
		o.Branch = "main"
	}
	if o.Namespace == "" {
		o.Namespace = "flux-system"
	}
	if o.Path == "" {
		return nil, fmt.Errorf("--flux-source needs the rendered directory's path in the repository (--flux-path)")
	}
	name := "flows-" + p.Name
	labels := map[string]string{LabelManagedBy: ManagedBy, LabelPartOf: p.Name}
	repo := &sourcev1.GitRepository{
		TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels},
		Spec: sourcev1.GitRepositorySpec{
			URL:       o.Source,
			Interval:  metav1.Duration{Duration: time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: o.Branch},
		},
	}
	if o.SecretRef != "" {
		repo.Spec.SecretRef = &meta.LocalObjectReference{Name: o.SecretRef}
	}
	ks := &kustomizev1.Kustomization{
		TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: 10 * time.Minute},
			Path:     "./" + strings.TrimPrefix(path.Clean(o.Path), "./"),
			Prune:    true,
			Wait:     true,
			Timeout:  &metav1.Duration{Duration: 5 * time.Minute},
			SourceRef: kustomizev1.CrossNamespaceSourceReference{
				Kind: sourcev1.GitRepositoryKind,
				Name: name,
			},
		},
	}
	return []any{repo, ks}, nil
}

// RepoPath gives dir relative to the root of the git repository that
// holds it, for FluxOptions.Path (the Kustomization's path); outside git,
// dir as given.
func RepoPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	root := gitTopLevel(filepath.Dir(abs))
	if root == "" {
		return dir
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return dir
	}
	return filepath.ToSlash(rel)
}

func gitTopLevel(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
