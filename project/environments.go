package project

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// Environments let one project file describe the same project in several
// clusters (staging, production) with their own limits, images and
// reconciler settings. Each environment is rendered on its own, so each
// gets its own config index and --config-digest: the reconciler takes
// config only as rendered, so per-environment values cannot be patched in
// afterwards by a kustomize overlay (see v1alpha1.ConfigIndexName).
//
// An environment is a partial project merged over the project, the way a
// strategic merge patch merges: objects key by key, the lists of named
// things by their key (pools and their queues by name, tag limits by tag,
// deployments by flow and name), every other list and value replaced
// whole, and null removes a value. An environment changes what the
// project declares; it cannot add a pool, queue, tag limit or deployment,
// so every environment has the same shape and a typo is an error rather
// than a new, half-written pool.
const fieldEnvironments = "environments"

// environment is what an environment may set: the project's settings, not
// its identity (apiVersion, kind, name). It exists to check the fields an
// environment names; the merge itself works on the JSON document.
type environment struct {
	Name              string                  `json:"name"`
	Namespace         string                  `json:"namespace,omitempty"`
	Reconciler        *Reconciler             `json:"reconciler,omitempty"`
	RunRetention      *v1alpha1.Retention     `json:"runRetention,omitempty"`
	Pools             []v1alpha1.Pool         `json:"pools,omitempty"`
	ConcurrencyLimits []v1alpha1.TagLimit     `json:"concurrencyLimits,omitempty"`
	Deployments       []v1alpha1.Deployment   `json:"deployments,omitempty"`
	Notifications     []v1alpha1.Notification `json:"notifications,omitempty"`
}

// keyedList is a list merged item by item: what its items are called and
// which fields key them.
type keyedList struct {
	noun, keyFields string
	key             func(map[string]any) string
}

func byName(m map[string]any) string { return str(m["name"]) }

// keyedLists are the lists merged item by item, by the list's path with
// indexes dropped.
var keyedLists = map[string]keyedList{
	"pools":             {"pool", "name", byName},
	"pools.queues":      {"queue", "name", byName},
	"concurrencyLimits": {"tag limit", "tag", func(m map[string]any) string { return str(m["tag"]) }},
	"deployments": {"deployment", "flow and name", func(m map[string]any) string {
		if str(m["flow"]) == "" || str(m["name"]) == "" {
			return ""
		}
		return str(m["flow"]) + "/" + str(m["name"])
	}},
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// selectEnvironment takes the environments section out of a decoded
// project document and returns the document for env ("" for the project
// as written) and the names of the environments declared, in file order.
// Problems are added to e under the environment's field path.
func selectEnvironment(doc any, env string, e *errs) (any, []string, error) {
	root, ok := doc.(map[string]any)
	if !ok {
		return doc, nil, nil // not an object: decode reports it
	}
	raw, declared := root[fieldEnvironments]
	if !declared {
		if env != "" {
			return nil, nil, &FieldError{File: e.file, Msg: fmt.Sprintf("environment %q: the project declares no environments", env)}
		}
		return doc, nil, nil
	}
	delete(root, fieldEnvironments)

	envDoc, _ := json.Marshal(map[string]any{fieldEnvironments: raw})
	var parsed struct {
		Environments []environment `json:"environments"`
	}
	strict, err := kjson.UnmarshalStrict(envDoc, &parsed, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, nil, &FieldError{File: e.file, Field: fieldEnvironments, Msg: fmt.Sprintf("want a list of environments, each a name and the project settings it changes: %v", err)}
	}
	for _, s := range strict {
		fld, msg := strictField(s.Error())
		e.add(fld, "%s", msg)
	}
	list, _ := raw.([]any)
	var names []string
	seen := map[string]bool{}
	index := -1
	for i, item := range parsed.Environments {
		fld := field.NewPath(fieldEnvironments).Index(i).Child("name")
		switch {
		case item.Name == "":
			e.add(fld.String(), "required: the environment's name, also its output directory")
			continue
		case seen[item.Name]:
			e.add(fld.String(), "environment %q declared twice", item.Name)
			continue
		}
		dnsLabel(e, fld.String(), item.Name)
		seen[item.Name] = true
		names = append(names, item.Name)
		if item.Name == env {
			index = i
		}
	}
	if err := e.err(); err != nil {
		return nil, nil, err
	}
	if env == "" {
		return root, names, nil
	}
	if index < 0 {
		msg := fmt.Sprintf("environment %q is not declared (known: %s)", env, strings.Join(names, ", "))
		if near := Closest(env, names, 1); len(near) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", near[0])
		}
		return nil, nil, &FieldError{File: e.file, Field: fieldEnvironments, Msg: msg}
	}
	patch, _ := list[index].(map[string]any)
	delete(patch, "name")
	merged := mergeObject(root, patch, "", field.NewPath(fieldEnvironments).Index(index), e)
	if err := e.err(); err != nil {
		return nil, nil, err
	}
	return merged, names, nil
}

// mergeObject merges patch over base (both JSON objects); kind is the
// path of base in the project with list indexes dropped, fld the patch's
// own path in the file, for errors.
func mergeObject(base, patch map[string]any, kind string, fld *field.Path, e *errs) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys) // errors in a stable order
	for _, k := range keys {
		v := patch[k]
		childKind := k
		if kind != "" {
			childKind = kind + "." + k
		}
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			if bv, ok := out[k].(map[string]any); ok {
				out[k] = mergeObject(bv, pv, childKind, fld.Child(k), e)
			} else {
				out[k] = pv
			}
		case []any:
			if list, keyed := keyedLists[childKind]; keyed {
				bv, _ := out[k].([]any)
				out[k] = mergeList(bv, pv, childKind, list, fld.Child(k), e)
			} else {
				out[k] = pv
			}
		default:
			out[k] = pv
		}
	}
	return out
}

// mergeList merges each patch item over the base item with the same key;
// an item the base does not have is an error naming the known keys.
func mergeList(base, patch []any, kind string, list keyedList, fld *field.Path, e *errs) []any {
	out := append([]any(nil), base...)
	known := make([]string, 0, len(base))
	at := map[string]int{}
	for i, b := range base {
		if bm, ok := b.(map[string]any); ok {
			at[list.key(bm)] = i
			known = append(known, list.key(bm))
		}
	}
	for j, p := range patch {
		pm, ok := p.(map[string]any)
		itemFld := fld.Index(j)
		if !ok {
			e.add(itemFld.String(), "want an object naming one of the project's %ss by %s", list.noun, list.keyFields)
			continue
		}
		k := list.key(pm)
		if k == "" {
			e.add(itemFld.String(), "required: %s, to say which of the project's %ss this changes", list.keyFields, list.noun)
			continue
		}
		i, found := at[k]
		if !found {
			msg := fmt.Sprintf("the project has no %s %q (known: %s): an environment changes what the project declares and cannot add to it", list.noun, k, strings.Join(known, ", "))
			if near := Closest(k, known, 1); len(near) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", near[0])
			}
			e.add(itemFld.String(), "%s", msg)
			continue
		}
		out[i] = mergeObject(out[i].(map[string]any), pm, kind, itemFld, e)
	}
	return out
}

// LoadEnvironments loads what is rendered from a project file: each of its
// environments, or the project as written when it declares none. The
// project as written must be valid too: environments change it. Every
// environment's problems are returned together.
func LoadEnvironments(path string, opts LoadOptions) ([]*Loaded, error) {
	opts.Environment = ""
	base, err := Load(path, opts)
	if err != nil {
		return nil, err
	}
	if len(base.Environments) == 0 {
		return []*Loaded{base}, nil
	}
	var (
		out  []*Loaded
		errs []error
	)
	for _, env := range base.Environments {
		opts.Environment = env
		l, err := Load(path, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, l)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
