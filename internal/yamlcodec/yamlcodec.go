// Package yamlcodec writes YAML as sigs.k8s.io/yaml does, faster.
package yamlcodec

import (
	"encoding/json"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"

	"github.com/kubectl-flows/kubectl-flows/internal/jsonvalue"
)

// Marshal writes v as sigs.k8s.io/yaml.Marshal does, byte for byte, at
// a third of its cost: that function parses its own JSON with the YAML
// parser only to recover integer types, which jsonvalue.Decode gives for
// far less. Rendering 1,000 deployments spends most of its time here, and
// the reconciler encodes a run's status with it on every write.
//
// A value that is already what that JSON round trip would give back (an
// unstructured object, as render and review hold them) skips it: the round
// trip costs more than the YAML encoding of such an object.
func Marshal(v any) ([]byte, error) {
	if decoded(v) {
		return marshalDecoded(v)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	obj, err := jsonvalue.Decode(j)
	if err != nil {
		return nil, err
	}
	return marshalDecoded(obj)
}

// marshalDecoded encodes a decoded value: by emit, or by yaml.v2 where
// emit gives up.
func marshalDecoded(v any) ([]byte, error) {
	if b, ok := emit(v); ok {
		return b, nil
	}
	return yamlv2.Marshal(v)
}

// decoded reports whether v is made only of values that a JSON encoding
// and jsonvalue.Decode give back unchanged: objects with string keys, lists,
// strings that are valid UTF-8 (JSON would replace invalid bytes), bools,
// null and integers. Floats are left to the round trip, which turns
// integral ones into integers.
func decoded(v any) bool {
	switch t := v.(type) {
	case nil, bool, int64, int:
		return true
	case string:
		return utf8.ValidString(t)
	case map[string]any:
		for _, e := range t {
			if !decoded(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range t {
			if !decoded(e) {
				return false
			}
		}
		return true
	}
	return false
}
