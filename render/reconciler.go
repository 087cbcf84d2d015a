package render

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/manifests"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// krustyMu serialises kustomize builds: krusty keeps a global OpenAPI
// schema that races under concurrent builds (kustomize #3670, #4569).
var krustyMu sync.Mutex

// reconcilerInstall builds the embedded kustomize base with an overlay that
// sets the project's namespace, image, replicas and resources.
func reconcilerInstall(p *project.Project, version, configDigest string) ([]byte, error) {
	fsys := filesys.MakeFsInMemory()
	err := fs.WalkDir(manifests.Base, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := manifests.Base.ReadFile(name)
		if err != nil {
			return err
		}
		return fsys.WriteFile(path.Join("/base", name), b)
	})
	if err != nil {
		return nil, err
	}

	image := p.Reconciler.Image
	if image == "" {
		image = project.ReconcilerImage(version)
	}
	newName, newTag, digest := splitImage(image)
	k := kustypes.Kustomization{
		TypeMeta:  kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources: []string{"../base"},
		Namespace: p.Namespace,
		Images:    []kustypes.Image{{Name: manifests.ImageName, NewName: newName, NewTag: newTag, Digest: digest}},
		Replicas:  []kustypes.Replica{{Name: manifests.Name, Count: int64(*p.Reconciler.Replicas)}},
		Labels: []kustypes.Label{{Pairs: map[string]string{
			LabelManagedBy: ManagedBy,
			LabelPartOf:    p.Name,
		}}},
	}
	if r := p.Reconciler.Resources; r != nil {
		patch, err := yaml.Marshal(map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": manifests.Name},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": "reconciler", "resources": r}},
			}}},
		})
		if err != nil {
			return nil, err
		}
		k.Patches = []kustypes.Patch{{Patch: string(patch)}}
	}
	if p.Reconciler.Image == "" && newTag == "latest" {
		// A development build names no published image: its reconciler is
		// the one built from the same checkout (make image) and loaded into
		// the nodes (ctr import, kind load). Kubernetes pulls :latest
		// Always, which would fetch another build, or fail with no
		// registry, so the node's own copy is used.
		k.Patches = append(k.Patches, kustypes.Patch{
			Target: &kustypes.Selector{ResId: resid.NewResIdKindOnly("Deployment", manifests.Name)},
			Patch:  `[{"op": "add", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "IfNotPresent"}]`,
		})
	}
	// The config's trust root: only operators may change the Deployment.
	k.Patches = append(k.Patches, kustypes.Patch{
		Target: &kustypes.Selector{ResId: resid.NewResIdKindOnly("Deployment", manifests.Name)},
		Patch:  `[{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--config-digest=` + configDigest + `"}]`,
	})
	if p := secretsPatch(project.NotificationSecrets(p)); p != nil {
		k.Patches = append(k.Patches, *p)
	}
	kb, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	if err := fsys.WriteFile("/overlay/kustomization.yaml", kb); err != nil {
		return nil, err
	}

	krustyMu.Lock()
	defer krustyMu.Unlock()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, "/overlay")
	if err != nil {
		return nil, fmt.Errorf("building the reconciler install: %w", err)
	}
	return m.AsYaml()
}

// secretsPatch lets the reconciler get the notification targets'
// Secrets, by name only: it reads a webhook's URL and signing key when it
// sends, and may read no other Secret.
func secretsPatch(names []string) *kustypes.Patch {
	if len(names) == 0 {
		return nil
	}
	rule, _ := json.Marshal(map[string]any{
		"apiGroups": []string{""}, "resources": []string{"secrets"},
		"resourceNames": names, "verbs": []string{"get"},
	})
	return &kustypes.Patch{
		Target: &kustypes.Selector{ResId: resid.NewResIdKindOnly("Role", manifests.Name)},
		Patch:  `[{"op": "add", "path": "/rules/-", "value": ` + string(rule) + `}]`,
	}
}

// splitImage splits name[:tag][@digest], minding registry ports.
func splitImage(image string) (name, tag, digest string) {
	name = image
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

// Kustomize builds the kustomization in dir on disk as `kubectl kustomize`
// does, for reading a rendered directory or an overlay over it (review).
func Kustomize(dir string) ([]byte, error) {
	krustyMu.Lock()
	defer krustyMu.Unlock()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return m.AsYaml()
}
