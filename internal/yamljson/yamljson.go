// Package yamljson reads YAML as sigs.k8s.io/yaml does (YAML 1.1, as
// kubectl reads manifests) with one difference: a mapping key is the
// string written. YAML 1.1 reads an unquoted y, n, yes, no, on, off (and
// true, false in any case) as a boolean, so a parameter named n arrived as
// the key "false", and {y: 1, on: 2} was refused for a key set twice.
// Every key here names something (a field, a parameter, a job variable, a
// schema property) and is a string once it is JSON, so it is read as
// written. Values keep YAML 1.1's reading: a boolean parameter given as
// yes is true, as it always was.
package yamljson

import (
	"bytes"
	"cmp"
	"slices"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// ToJSONStrict is yaml.YAMLToJSONStrict with keys read as written.
func ToJSONStrict(src []byte) ([]byte, error) {
	js, err := yaml.YAMLToJSONStrict(src)
	// A boolean key shows in the JSON as "true" or "false", or fails the
	// conversion when two of them meet: only then is the document read
	// again for its keys (the reconciler reads every run request here).
	if err == nil && !bytes.Contains(js, []byte(`"true":`)) && !bytes.Contains(js, []byte(`"false":`)) {
		return js, nil
	}
	if q := quoteKeys(src); q != nil {
		return yaml.YAMLToJSONStrict(q)
	}
	return js, err
}

// Unmarshal is yaml.Unmarshal with keys read as written.
func Unmarshal(src []byte, v any) error {
	if q := quoteKeys(src); q != nil {
		src = q
	}
	return yaml.Unmarshal(src, v)
}

// quoteKeys returns src with every unquoted mapping key that YAML 1.1
// reads as a boolean put in double quotes; nil when there is none, or
// when src does not parse (its reader reports that).
func quoteKeys(src []byte) []byte {
	var doc yamlv3.Node
	if yamlv3.Unmarshal(src, &doc) != nil {
		return nil
	}
	var keys []*yamlv3.Node
	var walk func(n *yamlv3.Node)
	walk = func(n *yamlv3.Node) {
		if n.Kind == yamlv3.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind == yamlv3.ScalarNode && k.Style == 0 && boolWord(k.Value) {
					keys = append(keys, k)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	if len(keys) == 0 {
		return nil
	}
	// One pass through src, key by key in the order they stand: a run
	// request is untrusted input, and may hold thousands of such keys.
	slices.SortFunc(keys, func(a, b *yamlv3.Node) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	out := make([]byte, 0, len(src)+2*len(keys))
	off, line, col, done := 0, 1, 1, 0 // src[off] is at line, col
	for _, k := range keys {
		for ; line < k.Line; line, col = line+1, 1 {
			i := bytes.IndexByte(src[off:], '\n')
			if i < 0 {
				return nil
			}
			off += i + 1
		}
		// The column counts characters, as the parser counts them.
		for ; col < k.Column; col++ {
			if off >= len(src) || src[off] == '\n' {
				return nil
			}
			_, size := utf8.DecodeRune(src[off:])
			off += size
		}
		if !bytes.HasPrefix(src[off:], []byte(k.Value)) {
			return nil // not where the parser said: leave the document alone
		}
		out = append(out, src[done:off]...)
		out = append(out, '"')
		out = append(out, k.Value...)
		out = append(out, '"')
		off += len(k.Value)
		col += len(k.Value) // the words are ASCII
		done = off
	}
	return append(out, src[done:]...)
}

// boolWord reports whether YAML 1.1 reads a plain scalar as a boolean.
func boolWord(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF":
		return true
	}
	return false
}
