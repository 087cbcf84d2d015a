// Package golden holds the one -update flag and the one comparison of the
// golden-file tests: a test compares its output with a file committed under
// testdata/, and `go test ./PKG -update` rewrites the files instead, for
// review in the diff. Only tests import it, so the flag never reaches the
// binaries.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files instead of comparing with them")

// Update says whether this run rewrites the golden files (-update).
func Update() bool { return *update }

// Check compares got with the file at path, or with -update writes got
// there (creating its directory).
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
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
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test -update rewrites it; review the diff):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
