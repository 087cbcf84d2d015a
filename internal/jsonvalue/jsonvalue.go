// Package jsonvalue holds the JSON data model every value of
// kubectl-flows is brought into before it is validated, templated or
// written: map[string]any, []any, string, bool, nil, and numbers as int64
// (whole numbers that fit) or float64, whatever decoder or Go code made
// the value.
package jsonvalue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Normalize turns a value built by any decoder or by Go code
// (map[string]string, []string, ints, json.Number, structs, ...) into the
// JSON data model. It always returns fresh maps and lists, so callers'
// values are never aliased or modified. It is the one place numbers are
// normalised: a json.Number becomes the int64 or float64 a YAML or JSON
// parser would have produced; Go's numeric types are kept.
func Normalize(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, string, float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64:
		return v, nil
	case json.Number:
		return number(v), nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = e
		}
		return out, nil
	case []string:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = e
		}
		return out, nil
	default:
		// Anything else (structs, typed maps and slices): through JSON.
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("value of type %T is not JSON: %w", v, err)
		}
		return Decode(b)
	}
}

// Decode parses JSON into the data model, keeping integers exact.
func Decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return Normalize(out)
}

// number is a json.Number as int64 if it is a whole number that fits, else
// float64 (else, never for a number encoding/json wrote, its text).
func number(n json.Number) any {
	if i, err := n.Int64(); err == nil {
		return i
	}
	if f, err := n.Float64(); err == nil {
		return f
	}
	return n.String()
}

// JoinPath appends a map key to a path inside a JSON value, as messages
// and placeholders spell it: env.FOO, a["b.c"]; keys that are not plain
// identifiers are quoted in brackets.
func JoinPath(at, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if !plain {
		return at + "[" + strconv.Quote(key) + "]"
	}
	if at == "" {
		return key
	}
	return at + "." + key
}
