package project

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Deployments that share a parameterSchema share one compiled schema, and
// their runs resolve with it; one that does not compile is reported at
// every deployment that has it, each with its own defaults checked.
func TestParameterSchemasCompiledOncePerLoad(t *testing.T) {
	deployment := func(name, schema, params string) string {
		return "  - {flow: f, name: " + name + ", entrypoint: f.py:main, image: example.com/f:1, pool: p, parameterSchema: " + schema + ", parameters: " + params + "}\n"
	}
	shared := `{type: object, properties: {count: {type: integer}}}`
	src := "apiVersion: kubectl-flows.dev/v1alpha1\nkind: Project\nname: demo\nnamespace: flows\npools: [{name: p}]\ndeployments:\n" +
		deployment("a", shared, "{count: 1}") + deployment("b", shared, "{count: 2}") + deployment("c", shared, "{count: x}")
	file := filepath.Join(t.TempDir(), "flows.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "deployments[2].parameters") || strings.Contains(err.Error(), "deployments[1]") {
		t.Fatalf("want deployments[2]'s default refused alone, got %v", err)
	}

	src = strings.Replace(src, deployment("c", shared, "{count: x}"), "", 1)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Load(file, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := l.parameterSchemas[&l.Deployments[0]], l.parameterSchemas[&l.Deployments[1]]
	if a == nil || a != b {
		t.Fatalf("compiled schemas %p and %p: want one, shared", a, b)
	}
	_, params, err := l.ResolveRun(&l.Deployments[1], "b-1", map[string]any{"count": "not a number"}, nil)
	if err == nil || !strings.Contains(err.Error(), "parameters of f/b") {
		t.Fatalf("a run's parameters were not checked with the compiled schema: %v, %v", params, err)
	}

	broken := `{type: 5}`
	src = strings.ReplaceAll(src, shared, broken)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(file, LoadOptions{})
	for _, want := range []string{"deployments[0].parameterSchema", "deployments[1].parameterSchema"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error at %s, got %v", want, err)
		}
	}
}

// A SchemaCache shared by readers on several goroutines, as review's
// decoding of a thousand deployment ConfigMaps is, gives one compiled
// schema per distinct schema and the same error for the same bad one.
func TestSchemaCacheConcurrent(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer"}}}
	}
	bad := func() map[string]any { return map[string]any{"type": "no such type"} }
	c := &SchemaCache{}
	first, err := c.Compile(good())
	if err != nil {
		t.Fatal(err)
	}
	// A schema first asked for by all at once is compiled once too: the
	// deployments of a project are checked on every core.
	fresh := func() map[string]any { return map[string]any{"type": "object", "required": []any{"m"}} }
	got := make([]*ParameterSchema, 8)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], _ = c.Compile(fresh())
			if s, err := c.Compile(good()); err != nil || s != first {
				t.Errorf("got %p, %v: want the one compiled schema %p", s, err, first)
			}
			if s, err := c.Compile(bad()); err == nil || s != nil || !strings.Contains(err.Error(), "parameterSchema is not a valid JSON Schema") {
				t.Errorf("a bad schema gave %v, %v", s, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, s := range got {
		if s == nil || s != got[0] {
			t.Fatalf("goroutine %d got schema %p, goroutine 0 %p: want one compiled schema", i, s, got[0])
		}
	}
	if err := first.Validate(map[string]any{"n": "x"}); err == nil {
		t.Fatal("the cached schema accepts what it should refuse")
	}
}
