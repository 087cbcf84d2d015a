package project

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	names := []string{"hello/default", "hello/arthur", "etl/daily", "etl/hourly"}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"hello/defualt", []string{"hello/default", "hello/arthur"}},
		{"etl/daly", []string{"etl/daily", "etl/hourly"}},
		{"daily", []string{"etl/daily"}},
		{"zzz", []string{}},
		// Over editdistance.MaxLen bytes: no hint, even one by prefix.
		{"hello/" + strings.Repeat("x", 1<<20), nil},
	} {
		if got := Closest(tc.in, names, 3); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Closest(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestFileNamespace(t *testing.T) {
	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "flows.yaml")
	if err := os.WriteFile(yamlFile, []byte("namespace: team-{{ env }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ns, err := FileNamespace(yamlFile, map[string]string{"env": "prod"})
	if err != nil || ns != "team-prod" {
		t.Errorf("%q %v", ns, err)
	}
	if FindProjectFile(dir) != yamlFile {
		t.Errorf("FindProjectFile: %q", FindProjectFile(dir))
	}
}
