package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/version"
)

var diffLong = templates.LongDesc(`
	Diff the rendered project against the live cluster: each object is
	applied with a server-side dry run (nothing changes) and the result is
	compared with the live object, so defaults and admission are taken into
	account. ConfigMaps of the project that the render no longer produces
	(a deleted deployment or pool) show as removed.

	Exit status, like kubectl diff and flux diff: 0 no differences, 1
	differences found, 2 or more an error.

	Server-side apply only removes fields owned by its own field manager:
	a field deleted from the project shows as removed only if the live
	object was applied with that manager (--field-manager, default
	kubectl-flows; Flux applies as kustomize-controller).`)

var diffExample = templates.Examples(`
	# What would applying flows.yaml change?
	kubectl flows diff

	# In CI, against the cluster Flux syncs
	kubectl flows diff -f flows.jsonnet --field-manager kustomize-controller`)

// DiffOptions is `kubectl flows diff`.
type DiffOptions struct {
	projectFlags
	FieldManager string
	f            *Factory
	genericiooptions.IOStreams
}

// NewCmdDiff is `kubectl flows diff`.
func NewCmdDiff(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DiffOptions{f: f, IOStreams: streams, FieldManager: fieldManager}
	cmd := &cobra.Command{
		Use:     "diff [-f flows.yaml]",
		Short:   "Diff the rendered project against the live cluster",
		Long:    diffLong,
		Example: diffExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if err := o.projectFlags.validate(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.FieldManager, "field-manager", o.FieldManager, "field manager of the server-side dry run: the one that applies the project")
	return cmd
}

// Run diffs; the error carries the exit status.
func (o *DiffOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	n, err := o.diff(ctx)
	if err != nil {
		if ExitCode(err) > 1 {
			return err
		}
		return &ExitError{Code: 2, Err: err}
	}
	if n > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d object(s) differ from the live cluster", n)}
	}
	fmt.Fprintln(o.ErrOut, "no differences")
	return nil
}

type diffTarget struct {
	obj     *unstructured.Unstructured
	mapping *meta.RESTMapping
}

func (o *DiffOptions) diff(ctx context.Context) (int, error) {
	l, err := o.load()
	if err != nil {
		return 0, err
	}
	out, err := render.Render(l, render.Options{Version: version.String()})
	if err != nil {
		return 0, err
	}
	if o.f.Flags.Namespace != nil && *o.f.Flags.Namespace != "" && *o.f.Flags.Namespace != l.Namespace {
		fmt.Fprintf(o.ErrOut, "warning: -n %s ignored: the project's objects live in namespace %s\n", *o.f.Flags.Namespace, l.Namespace)
	}
	o.f.ns = l.Namespace
	cfg, err := o.f.RESTConfig()
	if err != nil {
		return 0, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	mapper, err := o.f.Flags.ToRESTMapper()
	if err != nil {
		return 0, o.f.apiError(err, "discover", "API resources")
	}
	var objs []*unstructured.Unstructured
	for _, p := range out.Paths() {
		docs, err := splitObjects(out.Files[p])
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p, err)
		}
		objs = append(objs, docs...)
	}
	rendered := map[string]bool{}
	changed := 0
	var errs []string
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		if gvk.Group == "kustomize.config.k8s.io" {
			continue
		}
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			if meta.IsNoMatchError(err) {
				errs = append(errs, fmt.Sprintf("%s %s: the cluster does not serve kind %s (is its CRD installed?)", gvk.Kind, obj.GetName(), gvk.GroupKind()))
				continue
			}
			return changed, o.f.apiError(err, "discover", "API resources")
		}
		key := objectKey(gvk.Kind, obj.GetNamespace(), obj.GetName())
		rendered[key] = true
		d, err := o.diffOne(ctx, dyn, diffTarget{obj, m})
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		if d != "" {
			changed++
			fmt.Fprint(o.Out, d)
		}
	}
	// Project ConfigMaps the render no longer makes.
	c, err := o.f.KubeClient()
	if err != nil {
		return changed, err
	}
	sel := render.LabelManagedBy + "=" + render.ManagedBy + "," + render.LabelPartOf + "=" + l.Name + "," + v1alpha1.LabelConfig
	live, err := c.CoreV1().ConfigMaps(l.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil && !apierrors.IsNotFound(err) {
		return changed, o.f.apiError(err, "list", "configmaps")
	}
	if live != nil {
		sort.Slice(live.Items, func(i, j int) bool { return live.Items[i].Name < live.Items[j].Name })
		for i := range live.Items {
			cm := &live.Items[i]
			key := objectKey("ConfigMap", cm.Namespace, cm.Name)
			if rendered[key] {
				continue
			}
			u, err := toUnstructured(cm)
			if err != nil {
				return changed, err
			}
			u.SetAPIVersion("v1")
			u.SetKind("ConfigMap")
			changed++
			fmt.Fprint(o.Out, udiff.Unified("live/"+key, "/dev/null", normalized(u), ""))
		}
	}
	if len(errs) > 0 {
		return changed, &ExitError{Code: 2, Err: errors.New(strings.Join(errs, "\n"))}
	}
	return changed, nil
}

func objectKey(kind, ns, name string) string {
	if ns == "" {
		return kind + "/" + name
	}
	return kind + "/" + ns + "/" + name
}

// diffOne dry-runs the apply of one object and diffs it with the live one.
func (o *DiffOptions) diffOne(ctx context.Context, dyn dynamic.Interface, t diffTarget) (string, error) {
	var ri dynamic.ResourceInterface = dyn.Resource(t.mapping.Resource)
	if t.mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = dyn.Resource(t.mapping.Resource).Namespace(t.obj.GetNamespace())
	}
	name := t.obj.GetName()
	key := objectKey(t.obj.GetKind(), t.obj.GetNamespace(), name)
	live, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		live = nil
	} else if err != nil {
		return "", o.f.apiError(err, "get", t.mapping.Resource.Resource)
	}
	merged, err := ri.Apply(ctx, name, t.obj, metav1.ApplyOptions{FieldManager: o.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		if live == nil && apierrors.IsNotFound(err) {
			// Its namespace does not exist yet: it would be created as rendered.
			merged = t.obj
		} else {
			return "", o.f.apiError(err, "patch", t.mapping.Resource.Resource)
		}
	}
	before, after := "", normalized(merged)
	from := "live/" + key
	if live != nil {
		before = normalized(live)
	} else {
		from = "/dev/null"
	}
	if before == after {
		return "", nil
	}
	return udiff.Unified(from, "rendered/"+key, before, after), nil
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

func splitObjects(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}
