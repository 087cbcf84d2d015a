package schema

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCompileRefusesWhatIsOutside(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  map[string]any
		ref  string // "" when it compiles
	}{
		{"file", map[string]any{"$ref": "file:///etc/passwd"}, `"file:///etc/passwd"`},
		{"nested file", map[string]any{"properties": map[string]any{"a": map[string]any{"$ref": "file:///etc/passwd#/x"}}}, `"file:///etc/passwd"`},
		{"URL", map[string]any{"$ref": "https://example.com/s.json"}, `"https://example.com/s.json"`},
		{"relative", map[string]any{"$ref": "other.json"}, `"other.json"`},
		{"$schema of no known draft", map[string]any{"$schema": "https://example.com/meta", "type": "object"}, `"https://example.com/meta"`},
		{"$id moves the base", map[string]any{"$id": "file:///etc/", "$ref": "passwd"}, `"file:///etc/passwd"`},
		{"inside", map[string]any{"$ref": "#/$defs/x", "$defs": map[string]any{"x": map[string]any{"type": "string"}}}, ""},
		{"a known draft", map[string]any{"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"}, ""},
	} {
		_, err := Compile("parameterSchema", tc.doc)
		switch {
		case tc.ref == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.ref != "" && (!errors.Is(err, ErrExternalRef) || !strings.Contains(err.Error(), "parameterSchema refers to "+tc.ref+" outside itself")):
			t.Errorf("%s: %v, want a refusal naming %s", tc.name, err, tc.ref)
		}
	}
}

func TestProblems(t *testing.T) {
	sch, err := Compile("variables", map[string]any{
		"type":     "object",
		"required": []any{"image"},
		"properties": map[string]any{
			"image":   map[string]any{"type": "string"},
			"cpu":     map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "null"}}},
			"policy":  map[string]any{"enum": []any{"Always", "Never"}},
			"retries": map[string]any{"type": "integer", "minimum": 0},
			"when":    map[string]any{"type": "string", "format": "date"},
			"env":     map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(sch, map[string]any{"cpu": 1, "policy": "Sometimes", "retries": -1, "when": "yesterday", "env": map[string]any{"a.b": 1}, "extra": nil})
	got, ok := Problems(err)
	if !ok {
		t.Fatalf("not read: %v", err)
	}
	want := []Problem{
		{"cpu", "expected string, got number"},
		{`env["a.b"]`, "expected string, got number"},
		{"image", "required, but no value is set and the schema has no default"},
		{"policy", `must be one of "Always", "Never", got "Sometimes"`},
		{"retries", "must be at least 0, got -1"},
		{"when", `'yesterday' is not valid date: parsing time "yesterday" as "2006-01-02": cannot parse "yesterday" as "2006"`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
	_, err = Compile("variables", map[string]any{"properties": map[string]any{"a": map[string]any{"type": "strin"}}})
	if got, ok := Problems(err); !ok || len(got) == 0 || got[0].Path != "properties.a.type" {
		t.Errorf("metaschema problems %q of %v", got, err)
	}
	if _, ok := Problems(errors.New("other")); ok {
		t.Error("an error of neither kind was read")
	}
}
