package scaffold_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/scaffold"
)

// TestExampleIsTheScaffold keeps examples/hello identical to what
// `kubectl flows init` writes, so the example users read is the one they
// get.
func TestExampleIsTheScaffold(t *testing.T) {
	files, err := scaffold.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"flows.yaml", "base-job-template.json", "flows/hello.py", "Dockerfile", "requirements.txt"} {
		if _, ok := files[want]; !ok {
			t.Errorf("scaffold lacks %s", want)
		}
	}
	for _, p := range scaffold.Paths(files) {
		got, err := os.ReadFile(filepath.Join("..", "examples", "hello", filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("examples/hello/%s: %v (run `kubectl flows init --force examples/hello`)", p, err)
			continue
		}
		if !bytes.Equal(got, files[p]) {
			t.Errorf("examples/hello/%s differs from the scaffold (run `kubectl flows init --force examples/hello`)", p)
		}
	}
}
