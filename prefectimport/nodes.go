package prefectimport

import (
	"fmt"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
)

// node is a YAML node with aliases followed, remembering the alias that led
// to it, so a message about a value defined once under definitions: and
// used through *alias names both lines.
type node struct {
	n   *yamlv3.Node
	via int // line of the alias it was reached through; 0 when direct
}

func deref(n *yamlv3.Node, via int) node {
	for n != nil && n.Kind == yamlv3.AliasNode {
		if via == 0 {
			via = n.Line
		}
		n = n.Alias
	}
	if n != nil && n.Kind == yamlv3.DocumentNode && len(n.Content) > 0 {
		return deref(n.Content[0], via)
	}
	return node{n: n, via: via}
}

func (v node) ok() bool     { return v.n != nil }
func (v node) isMap() bool  { return v.ok() && v.n.Kind == yamlv3.MappingNode }
func (v node) isSeq() bool  { return v.ok() && v.n.Kind == yamlv3.SequenceNode }
func (v node) isNull() bool { return !v.ok() || v.n.Kind == yamlv3.ScalarNode && v.n.Tag == "!!null" }

// where is "FILE:LINE", and the alias's line when the value was reached
// through one.
func (v node) where(file string) string {
	if !v.ok() {
		return file
	}
	s := fmt.Sprintf("%s:%d", file, v.n.Line)
	if v.via != 0 && v.via != v.n.Line {
		s += fmt.Sprintf(" (through the alias at line %d)", v.via)
	}
	return s
}

type pair struct {
	key string
	val node
}

// pairs lists a mapping's entries with YAML merge keys (<<: *base, or a
// list of them) applied: the mapping's own keys win, then earlier merged
// mappings over later ones, as YAML 1.1 says.
func (v node) pairs() []pair {
	if !v.isMap() {
		return nil
	}
	var own, merged []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.n.Content); i += 2 {
		k, val := v.n.Content[i], deref(v.n.Content[i+1], v.via)
		if k.Value == "<<" && k.Tag == "!!merge" {
			sources := []node{val}
			if val.isSeq() {
				sources = val.items()
			}
			for _, s := range sources {
				merged = append(merged, s.pairs()...)
			}
			continue
		}
		own = append(own, pair{k.Value, val})
		seen[k.Value] = true
	}
	out := own
	for _, p := range merged {
		if !seen[p.key] {
			seen[p.key] = true
			out = append(out, p)
		}
	}
	return out
}

func (v node) get(key string) (node, bool) {
	for _, p := range v.pairs() {
		if p.key == key {
			return p.val, true
		}
	}
	return node{}, false
}

func (v node) items() []node {
	if !v.isSeq() {
		return nil
	}
	out := make([]node, len(v.n.Content))
	for i, c := range v.n.Content {
		out[i] = deref(c, v.via)
	}
	return out
}

// scalar decodes a scalar: string, int, float64, bool, nil; a timestamp
// stays the text it was written as.
func (v node) scalar() any {
	if !v.ok() || v.n.Kind != yamlv3.ScalarNode {
		return nil
	}
	var x any
	if err := v.n.Decode(&x); err != nil {
		return v.n.Value
	}
	if _, ok := x.(time.Time); ok {
		return v.n.Value
	}
	return x
}

func (v node) str() (string, bool) {
	s, ok := v.scalar().(string)
	return s, ok
}
