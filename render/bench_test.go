package render_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

func writeLargeProject(tb testing.TB, n int) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "flows.yaml")
	if err := os.WriteFile(p, []byte(fixture.LargeProject(n)), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkRender1000 loads, validates and renders a project of 1,000
// deployments: the work of `kubectl flows render` less process start and
// file writes.
func BenchmarkRender1000(b *testing.B) {
	file := writeLargeProject(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		l, err := project.Load(file, project.LoadOptions{ExtVars: goldenVars})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := render.Render(l, render.Options{Version: goldenVersion}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderHello is the baseline beside it: the same work for the
// two-deployment hello project, mostly krusty's fixed cost.
func BenchmarkRenderHello(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		l, err := project.Load("../examples/hello/flows.yaml", project.LoadOptions{ExtVars: goldenVars})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := render.Render(l, render.Options{Version: goldenVersion}); err != nil {
			b.Fatal(err)
		}
	}
}
