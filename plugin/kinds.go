package plugin

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
)

// The objects `get -o json|yaml|name` prints are views, not API objects:
// kubectl-flows keeps everything in ConfigMaps and these put the pieces
// together in the shape of a Kubernetes object (apiVersion, kind, metadata,
// spec, status) so tools like jq and jsonpath work on them. Each is printed
// from the client's view of its kind (client.RunView, ...), as describe
// and the dashboard print it.

// row is one row of a `get`: its table cells and its object.
type row struct {
	name   string
	labels map[string]string
	cells  []any
	obj    *unstructured.Unstructured
}

// kindSpec describes one kind `get` knows.
type kindSpec struct {
	kind    string
	plural  string
	aliases []string
	columns []metav1.TableColumnDefinition
	rows    func(s *client.Snapshot) []row
}

func col(name string, wide bool, desc string) metav1.TableColumnDefinition {
	p := int32(0)
	if wide {
		p = 1
	}
	return metav1.TableColumnDefinition{Name: name, Type: "string", Priority: p, Description: desc}
}

func kindFor(arg string) *kindSpec {
	arg = strings.ToLower(arg)
	for _, k := range kinds {
		for _, a := range k.aliases {
			if a == arg {
				return k
			}
		}
	}
	return nil
}

func kindNames() []string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.plural)
	}
	return names
}

// kindArgs are the "KIND NAME" arguments of describe, pause and resume.
type kindArgs struct {
	args []string
	kind *kindSpec
	name string
}

func (a *kindArgs) complete(args []string) {
	a.args = args
	if len(args) == 2 {
		a.kind, a.name = kindFor(args[0]), args[1]
	}
}

// validate checks that the arguments name one of kinds, for the command
// verb.
func (a *kindArgs) validate(verb string, kinds []*kindSpec) error {
	if len(a.args) != 2 {
		return fmt.Errorf("usage: kubectl flows %s %s NAME", verb, kindChoice(kinds))
	}
	if !slices.Contains(kinds, a.kind) {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = k.aliases[0]
		}
		last := len(names) - 1
		return fmt.Errorf("%s works on a %s or %s, not %q", verb, strings.Join(names[:last], ", "), names[last], a.args[0])
	}
	return nil
}

// kindChoice is "(run|deployment|pool)" for a usage line.
func kindChoice(kinds []*kindSpec) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.aliases[0]
	}
	return "(" + strings.Join(names, "|") + ")"
}

// object builds a view object from its parts.
func object(kind, name, ns string, created time.Time, labels map[string]string, spec, status any) *unstructured.Unstructured {
	meta := map[string]any{"name": name, "namespace": ns}
	if !created.IsZero() {
		meta["creationTimestamp"] = created.UTC().Format(time.RFC3339)
	}
	if len(labels) > 0 {
		l := map[string]any{}
		for k, v := range labels {
			l[k] = v
		}
		meta["labels"] = l
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.APIVersion,
		"kind":       kind,
		"metadata":   meta,
		"spec":       toMap(spec),
		"status":     toMap(status),
	}}
}

// toMap converts a struct to the JSON-shaped map unstructured objects hold.
func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return map[string]any{}
	}
	return m
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func slotsCell(inUse int32, limit *int32) string {
	if limit == nil {
		return fmt.Sprint(inUse)
	}
	return fmt.Sprintf("%d/%d", inUse, *limit)
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format(time.RFC3339)
}

// table builds the metav1.Table the cli-runtime table printer prints.
func table(k *kindSpec, rows []row) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: k.columns}
	for _, r := range rows {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: r.cells, Object: runtime.RawExtension{Object: r.obj}})
	}
	return t
}

// list wraps view objects as kubectl wraps several objects: kind List.
func list(rows []row) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
	for _, r := range rows {
		l.Items = append(l.Items, *r.obj)
	}
	return l
}
