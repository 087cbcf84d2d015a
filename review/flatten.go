package review

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// leaf is one changed value: a path such as
// spec.template.spec.containers[flow].image and its values on each side
// ("" where it is absent).
type leaf struct {
	path, before, after string
}

// flatten lists every scalar of v by path. Lists of objects that carry a
// name (containers, env, queues) are keyed by it, so inserting one item
// does not show every later one as changed.
func flatten(v any, prefix string, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(e, p, out)
		}
	case []any:
		for i, e := range t {
			key := fmt.Sprint(i)
			if m, ok := e.(map[string]any); ok {
				if n, ok := m["name"].(string); ok && n != "" {
					key = n
				}
			}
			flatten(e, prefix+"["+key+"]", out)
		}
	default:
		out[prefix] = scalar(t)
	}
}

func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// diffLeaves compares two values path by path, sorted by path.
func diffLeaves(before, after any) []leaf {
	a, b := map[string]string{}, map[string]string{}
	flatten(before, "", a)
	flatten(after, "", b)
	var out []leaf
	for p, v := range a {
		if configDigestArg(v) && configDigestArg(b[p]) {
			continue // follows the config, which is reviewed for its meaning
		}
		if w, ok := b[p]; !ok || w != v {
			out = append(out, leaf{p, v, b[p]})
		}
	}
	for p, w := range b {
		if _, ok := a[p]; !ok {
			out = append(out, leaf{p, "", w})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// head is a path's first segment: "queues" of queues[default].priority.
func head(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// configDigestArg reports the reconciler's --config-digest argument: it
// changes with every config change, which review reports for what it
// means, not as a digest.
func configDigestArg(v string) bool {
	return strings.HasPrefix(v, "--config-digest=")
}
