package render_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// WriteLargeProject writes a project with n deployments spread over three
// pools and returns its path; the render benchmarks and `make bench` use
// it.
func writeLargeProject(tb testing.TB, n int) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: large
namespace: large
pools:
  - {name: a, concurrencyLimit: 50, queues: [{name: high, priority: 1}, {name: default, priority: 2}]}
  - {name: b, concurrencyLimit: 20}
  - {name: c}
concurrencyLimits:
  - {tag: db, limit: 10}
  - {tag: api, limit: 20}
deployments:
`)
	pools := []string{"a", "b", "c"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  - flow: flow-%03d
    name: d%d
    entrypoint: flows/f%d.py:main
    image: registry.example.com/flows:{{ gitSha }}
    pool: %s
    tags: [db, api]
    parameters: {index: %d, name: "run %d"}
    parameterSchema: {type: object, properties: {index: {type: integer}, name: {type: string}}}
    jobVariables: {cpu_request: 100m, env: {INDEX: "%d"}}
    schedules: [{cron: "%d * * * *", timezone: Europe/Paris}]
`, i/10, i%10, i, pools[i%3], i, i, i, i%60)
	}
	p := filepath.Join(tb.TempDir(), "flows.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
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
