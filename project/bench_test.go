package project_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// BenchmarkLoad1000 reads and checks a project of 1,000 deployments: the
// part of `kubectl flows render` before any manifest is made.
func BenchmarkLoad1000(b *testing.B) {
	file := filepath.Join(b.TempDir(), "flows.yaml")
	if err := os.WriteFile(file, []byte(fixture.LargeProject(1000)), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := project.Load(file, project.LoadOptions{ExtVars: map[string]string{"gitSha": "bench"}}); err != nil {
			b.Fatal(err)
		}
	}
}
