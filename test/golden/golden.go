// Package golden compares test output with golden files, which a test
// rewrites when its package's -update flag is set.
package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Check compares got with the file at path, or writes it when update is
// set. pkg names the package for the hint on how to rewrite it.
func Check(t *testing.T, path string, got []byte, update bool, pkg string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test %s -update writes it)", err, pkg)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test %s -update rewrites it):\n%s", path, pkg, got)
	}
}
