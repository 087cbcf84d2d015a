package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a test that records an Errorf instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestCheck(t *testing.T) {
	if Update() {
		t.Skip("-update rewrites instead of comparing")
	}
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(path, []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	Check(r, path, []byte("same\n"))
	if r.failed {
		t.Fatal("equal bytes reported as a difference")
	}
	Check(r, path, []byte("same"))
	if !r.failed {
		t.Fatal("a missing final newline went unnoticed")
	}
}
