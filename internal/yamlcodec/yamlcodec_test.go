package yamlcodec

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Marshal must write what sigs.k8s.io/yaml writes, byte for byte:
// rendered files and run statuses written before it existed must not
// change.
func TestMarshalMatchesSigsYAML(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 23, 3, 4, 5, 0, time.UTC))
	type status struct {
		State     string       `json:"state"`
		Message   string       `json:"message,omitempty"`
		StartTime *metav1.Time `json:"startTime,omitempty"`
		EndTime   *metav1.Time `json:"endTime,omitempty"`
	}
	st := &status{State: "Running", Message: "pod x: is running\nsecond line", StartTime: &now}
	cases := map[string]any{
		"status": st,
		"numbers": map[string]any{
			"int": 1, "big": int64(1) << 53, "float": 1.5, "exp": 1e21, "neg": -3, "zero": 0.0,
			"strings": []any{"1", "true", "yes", "on", "~", "null", "", " lead", "a: b", "#x", "0x1F", "1e3", ".inf"},
		},
		"nested": map[string]any{"a": []any{map[string]any{"b": nil, "c": []any{}}, true, false}, "unicode": "é ü 🚀"},
		"empty":  map[string]any{},
	}
	for name, v := range cases {
		if !matchesSigsYAML(t, name, v) {
			t.Fail()
		}
	}
}

// matchesSigsYAML reports whether Marshal writes v as sigs.k8s.io/yaml
// does, logging both when not.
func matchesSigsYAML(t *testing.T, name string, v any) bool {
	t.Helper()
	want, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Logf("%s: Marshal wrote\n%s\nsigs.k8s.io/yaml wrote\n%s", name, got, want)
		return false
	}
	return true
}
