package jobtemplate

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kubectl-flows/kubectl-flows/internal/jsonvalue"
)

// placeholderRE is Prefect's PLACEHOLDER_CAPTURE_REGEX
// (prefect/utilities/templating: `({{\s*([\w\.\-\[\]$]+)\s*}})`). Python's
// \w is Unicode-aware for str patterns, so \w becomes \p{L}\p{N}_ here.
var placeholderRE = regexp.MustCompile(`\{\{\s*([\p{L}\p{N}_.\-\[\]$]+)\s*\}\}`)

// placeholder is one `{{ name }}` occurrence.
type placeholder struct {
	full string   // the whole match, e.g. "{{ env.FOO }}"
	name string   // "env.FOO"
	path []string // lookup keys, Prefect's get_from_dict split: "a.b[0]" -> a, b, 0
}

// splitPath mirrors prefect.utilities.collections.get_from_dict, which turns
// "a.b[0].c" into the keys a, b, 0, c.
func splitPath(name string) []string {
	name = strings.ReplaceAll(name, "[", ".")
	name = strings.ReplaceAll(name, "]", "")
	return strings.Split(name, ".")
}

// variable is the variable a placeholder names: its first path segment.
func (p placeholder) variable() string { return p.path[0] }

// node is a pre-parsed piece of job_configuration. Parsing once per Template
// keeps Resolve free of regular-expression work.
type node interface {
	// render returns the templated value, or ok=false when the value is
	// "NotSet" in Prefect's terms (a lone placeholder whose variable is
	// unset): the map key or list item holding it is then dropped.
	render(vars map[string]any) (v any, ok bool)
}

// literalNode is a scalar without placeholders (string, number, bool, null).
type literalNode struct{ v any }

func (n literalNode) render(map[string]any) (any, bool) { return n.v, true }

// exactNode is a string that is exactly one placeholder: it takes the value
// with its JSON type.
type exactNode struct{ p placeholder }

func (n exactNode) render(vars map[string]any) (any, bool) {
	v, ok := lookup(vars, n.p.path)
	if !ok || v == nil {
		return nil, false
	}
	return deepCopy(v), true
}

// textNode is a string with placeholders and surrounding text (or several
// placeholders): each is replaced by its value as text, "" when unset.
type textNode struct {
	parts []string      // len(parts) == len(holes)+1
	holes []placeholder // between parts
}

func (n textNode) render(vars map[string]any) (any, bool) {
	var b strings.Builder
	for i, hole := range n.holes {
		b.WriteString(n.parts[i])
		if v, ok := lookup(vars, hole.path); ok {
			b.WriteString(text(v))
		}
	}
	b.WriteString(n.parts[len(n.parts)-1])
	return b.String(), true
}

type mapNode struct {
	keys []string // sorted
	vals []node
}

func (n mapNode) render(vars map[string]any) (any, bool) {
	out := make(map[string]any, len(n.keys))
	for i, k := range n.keys {
		if v, ok := n.vals[i].render(vars); ok {
			out[k] = v
		}
	}
	return out, true
}

type listNode struct{ items []node }

func (n listNode) render(vars map[string]any) (any, bool) {
	out := make([]any, 0, len(n.items))
	for _, it := range n.items {
		if v, ok := it.render(vars); ok {
			out = append(out, v)
		}
	}
	return out, true
}

// placeholderUse records where a placeholder occurs, for Parse errors.
type placeholderUse struct {
	at string // JSON path, e.g. job_configuration.job_manifest.metadata.labels
	p  placeholder
}

// compileNode turns a JSON value into a node tree and reports every
// placeholder it contains (map keys are walked in sorted order, so the uses
// come out deterministic). Like Prefect's find_placeholders/apply_values,
// only values are templated, never map keys.
func compileNode(v any, at string, uses *[]placeholderUse) node {
	switch v := v.(type) {
	case map[string]any:
		keys := sortedKeys(v)
		n := mapNode{keys: keys, vals: make([]node, len(keys))}
		for i, k := range keys {
			n.vals[i] = compileNode(v[k], jsonvalue.JoinPath(at, k), uses)
		}
		return n
	case []any:
		n := listNode{items: make([]node, len(v))}
		for i, it := range v {
			n.items[i] = compileNode(it, at+"["+strconv.Itoa(i)+"]", uses)
		}
		return n
	case string:
		return compileString(v, at, uses)
	default:
		return literalNode{v}
	}
}

func compileString(s, at string, uses *[]placeholderUse) node {
	if !strings.Contains(s, "{{") {
		return literalNode{s}
	}
	locs := placeholderRE.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		return literalNode{s}
	}
	holes := make([]placeholder, len(locs))
	parts := make([]string, 0, len(locs)+1)
	prev := 0
	for i, loc := range locs {
		name := s[loc[2]:loc[3]]
		holes[i] = placeholder{full: s[loc[0]:loc[1]], name: name, path: splitPath(name)}
		parts = append(parts, s[prev:loc[0]])
		prev = loc[1]
		*uses = append(*uses, placeholderUse{at: at, p: holes[i]})
	}
	parts = append(parts, s[prev:])
	// Prefect: "If a template contains only a single placeholder, the
	// placeholder will be fully replaced with the value."
	if len(holes) == 1 && holes[0].full == s {
		return exactNode{holes[0]}
	}
	return textNode{parts: parts, holes: holes}
}

// lookup follows a placeholder path through the variables the way Prefect's
// get_from_dict does: an integer segment indexes a list (negative counts from
// the end, as in Python), any other segment is a map key. A missing key, an
// out-of-range index or a type mismatch means "not set".
func lookup(vars map[string]any, path []string) (any, bool) {
	var cur any = vars
	for _, seg := range path {
		if idx, err := strconv.Atoi(seg); err == nil {
			list, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			if idx < 0 {
				idx += len(list)
			}
			if idx < 0 || idx >= len(list) {
				return nil, false
			}
			cur = list[idx]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	if cur == nil {
		return nil, false
	}
	return cur, true
}

// text renders a value inside a longer string. Prefect uses Python's str();
// we use the JSON spelling instead (true, not True; compact JSON with sorted
// keys for objects and lists, not a Python repr), which is what a
// Kubernetes manifest expects. Whole numbers print without a fraction.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return formatFloat(v)
	case float32:
		return formatFloat(float64(v))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v)
	case json.Number:
		return v.String()
	default:
		b, err := marshalCompact(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
