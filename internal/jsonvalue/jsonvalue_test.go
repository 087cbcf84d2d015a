package jsonvalue

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestNormalize(t *testing.T) {
	type spec struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	in := map[string]any{
		"whole": json.Number("9007199254740993"), "frac": json.Number("1.5"), "big": json.Number("1e400"),
		"int": 3, "float": 2.5, "labels": map[string]string{"a": "b"}, "args": []string{"x"},
		"spec": spec{"s", 7}, "list": []any{json.Number("1.0"), nil, true},
	}
	got, err := Normalize(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"whole": int64(9007199254740993), "frac": 1.5, "big": "1e400",
		"int": 3, "float": 2.5, "labels": map[string]any{"a": "b"}, "args": []any{"x"},
		"spec": map[string]any{"name": "s", "n": int64(7)}, "list": []any{1.0, nil, true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize:\n got %#v\nwant %#v", got, want)
	}
	// Fresh maps and lists: changing the result leaves the input alone.
	got.(map[string]any)["list"].([]any)[0] = "changed"
	if in["list"].([]any)[0] != json.Number("1.0") {
		t.Error("Normalize aliased its input")
	}
	if _, err := Normalize(map[string]any{"f": func() {}}); err == nil {
		t.Error("a func was taken for JSON")
	}
}

func TestJoinPath(t *testing.T) {
	for _, tc := range [][3]string{{"", "env", "env"}, {"env", "FOO", "env.FOO"}, {"labels", "example.com/team", `labels["example.com/team"]`}, {"", "", `[""]`}} {
		if got := JoinPath(tc[0], tc[1]); got != tc[2] {
			t.Errorf("JoinPath(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}
