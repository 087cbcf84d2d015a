// Package printers prints the client's views (client.RunView,
// client.DeploymentView, ...) as kubectl prints objects: table columns and
// rows for `get`, objects shaped like Kubernetes objects for -o
// json|yaml|name|jsonpath, and descriptions for `describe`. Each printer
// is a function of the snapshot it is given; reading the cluster and the
// flags stays with the commands.
package printers

import (
	"encoding/json"
	"fmt"
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

// Row is one row of a `get`: its table cells and its object.
type Row struct {
	Name   string
	Labels map[string]string
	Cells  []any
	Object *unstructured.Unstructured
}

// Kind describes one kind `get` knows.
type Kind struct {
	Kind    string
	Plural  string
	Aliases []string
	Columns []metav1.TableColumnDefinition
	Rows    func(s *client.Snapshot) []Row
}

func col(name string, wide bool, desc string) metav1.TableColumnDefinition {
	p := int32(0)
	if wide {
		p = 1
	}
	return metav1.TableColumnDefinition{Name: name, Type: "string", Priority: p, Description: desc}
}

// KindFor is the kind an argument names (plural, singular or short), or
// nil.
func KindFor(arg string) *Kind {
	arg = strings.ToLower(arg)
	for _, k := range Kinds {
		for _, a := range k.Aliases {
			if a == arg {
				return k
			}
		}
	}
	return nil
}

// KindNames are the kinds' plural names, for messages and completion.
func KindNames() []string {
	var names []string
	for _, k := range Kinds {
		names = append(names, k.Plural)
	}
	return names
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

// Table builds the metav1.Table the cli-runtime table printer prints.
func Table(k *Kind, rows []Row) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: k.Columns}
	for _, r := range rows {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: r.Cells, Object: runtime.RawExtension{Object: r.Object}})
	}
	return t
}

// List wraps view objects as kubectl wraps several objects: kind List.
func List(rows []Row) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
	for _, r := range rows {
		l.Items = append(l.Items, *r.Object)
	}
	return l
}
