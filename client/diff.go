package client

import (
	"context"
	"fmt"
	"sort"

	"github.com/aymanbagabas/go-udiff"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// Differ compares rendered objects with the live cluster: each object is
// applied with a server-side dry run (nothing changes) and the result is
// compared with the live object, so defaults and admission are taken into
// account.
type Differ struct {
	c      *Client
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	// FieldManager applies: only fields it owns can show as removed.
	FieldManager string
}

// Differ returns a Differ over the dynamic client and REST mapper of c's
// cluster.
func (c *Client) Differ(dyn dynamic.Interface, mapper meta.RESTMapper, fieldManager string) *Differ {
	return &Differ{c: c, dyn: dyn, mapper: mapper, FieldManager: fieldManager}
}

// ObjectDiff is what applying one object would change.
type ObjectDiff struct {
	// Key is Kind/namespace/name.
	Key string
	// Diff is the unified diff, "" when nothing would change.
	Diff string
	// Err is why the object could not be compared; the others still are.
	Err error
}

// Diff compares one rendered object with the live cluster.
func (d *Differ) Diff(ctx context.Context, obj *unstructured.Unstructured) ObjectDiff {
	gvk := obj.GroupVersionKind()
	out := ObjectDiff{Key: objectKey(gvk.Kind, obj.GetNamespace(), obj.GetName())}
	m, err := d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		out.Err = fmt.Errorf("the cluster does not serve kind %s (is its CRD installed?)", gvk.GroupKind())
		return out
	}
	if err != nil {
		out.Err = d.c.Explain(err, "discover", "API resources")
		return out
	}
	ri := dynamic.ResourceInterface(d.dyn.Resource(m.Resource))
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = d.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		live = nil
	} else if err != nil {
		out.Err = d.c.Explain(err, "get", m.Resource.Resource)
		return out
	}
	merged, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: d.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	switch {
	case err != nil && live == nil && apierrors.IsNotFound(err):
		merged = obj // its namespace does not exist yet: it would be created as rendered
	case err != nil:
		out.Err = d.c.Explain(err, "patch", m.Resource.Resource)
		return out
	}
	before, after, from := "", normalized(merged), "/dev/null"
	if live != nil {
		before, from = normalized(live), "live/"+out.Key
	}
	if before != after {
		out.Diff = udiff.Unified(from, "rendered/"+out.Key, before, after)
	}
	return out
}

// Removed diffs the project's config ConfigMaps that are live but not
// rendered (a deleted deployment or pool); rendered holds the keys of the
// objects rendered.
func (d *Differ) Removed(ctx context.Context, selector string, rendered map[string]bool) ([]ObjectDiff, error) {
	live, err := d.c.kube.CoreV1().ConfigMaps(d.c.ns).List(ctx, metav1.ListOptions{LabelSelector: selector + "," + v1alpha1.LabelConfig})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, d.c.Explain(err, "list", "configmaps")
	}
	sort.Slice(live.Items, func(i, j int) bool { return live.Items[i].Name < live.Items[j].Name })
	var out []ObjectDiff
	for i := range live.Items {
		cm := &live.Items[i]
		key := objectKey("ConfigMap", cm.Namespace, cm.Name)
		if rendered[key] {
			continue
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cm)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		out = append(out, ObjectDiff{Key: key, Diff: udiff.Unified("live/"+key, "/dev/null", normalized(u), "")})
	}
	return out, nil
}

// ObjectKey is how Differ names an object: Kind/namespace/name.
func ObjectKey(u *unstructured.Unstructured) string {
	return objectKey(u.GetKind(), u.GetNamespace(), u.GetName())
}

func objectKey(kind, ns, name string) string {
	if ns == "" {
		return kind + "/" + name
	}
	return kind + "/" + ns + "/" + name
}

// normalized renders an object as YAML without the fields that always
// differ and say nothing: server bookkeeping and status.
func normalized(u *unstructured.Unstructured) string {
	u = u.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(u.Object, "metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration")
	unstructured.RemoveNestedField(u.Object, "metadata", "annotations", "deployment.kubernetes.io/revision")
	if a, ok, _ := unstructured.NestedMap(u.Object, "metadata", "annotations"); ok && len(a) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
	}
	unstructured.RemoveNestedField(u.Object, "status")
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
