package review

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// BenchmarkReview1000 reviews a change to one of 1,000 deployments: both
// sides loaded, rendered and compared, the work of `kubectl flows review`
// less git and process start.
func BenchmarkReview1000(b *testing.B) {
	dir := b.TempDir()
	base, head := filepath.Join(dir, "base.yaml"), filepath.Join(dir, "head.yaml")
	if err := os.WriteFile(base, []byte(fixture.LargeProject(1000)), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(head, []byte(fixture.LargeProjectChanged(1000, 500)), 0o644); err != nil {
		b.Fatal(err)
	}
	side := func(file string) Objects { return objectsOf(b, renderProject(b, file)) }
	b.ReportAllocs()
	for b.Loop() {
		r := Compare("flows.yaml", side(base), side(head), Options{Now: now})
		if len(r.Changes) != 1 {
			b.Fatalf("%d changes, want the one made", len(r.Changes))
		}
	}
}
