package prefectimport

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
)

func parse(t *testing.T, src string) node {
	t.Helper()
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return deref(&doc, 0)
}

// TestInterval reads the forms pydantic reads a timedelta from.
func TestInterval(t *testing.T) {
	for src, want := range map[string]time.Duration{
		"600": 10 * time.Minute, "1.5": 1500 * time.Millisecond, "PT6H": 6 * time.Hour, "P1DT30M": 24*time.Hour + 30*time.Minute,
		`"01:30:00"`: 90 * time.Minute, `"2 days, 00:00:10"`: 48*time.Hour + 10*time.Second,
	} {
		got, err := interval(parse(t, src))
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", src, got, err, want)
		}
	}
	for _, src := range []string{"P", "every hour", "true"} {
		if _, err := interval(parse(t, src)); err == nil {
			t.Errorf("%s: no error", src)
		}
	}
}

// TestMergeKeys: a mapping's own keys win over merged ones, and of several
// merged mappings the first wins, as YAML 1.1 says; values reached through
// an alias name the alias's line too.
func TestMergeKeys(t *testing.T) {
	root := parse(t, `a: &a {x: 1, y: 1}
b: &b {x: 2, z: 2}
c:
  <<: [*a, *b]
  y: 3
`)
	c := get(root, "c")
	got := map[string]any{}
	for _, p := range c.pairs() {
		got[p.key] = p.val.scalar()
	}
	if got["x"] != 1 || got["y"] != 3 || got["z"] != 2 || len(got) != 3 {
		t.Fatalf("merged %v", got)
	}
	if w := get(c, "x").where("prefect.yaml"); w != "prefect.yaml:1 (through the alias at line 4)" {
		t.Errorf("where %q", w)
	}
}

// TestFlowName derives names as Prefect does: @flow(name=...), else the
// function's name with '_' as '-'.
func TestFlowName(t *testing.T) {
	src := `from prefect import flow
import prefect

@flow(name="Nightly ETL", retries=2)
@other
def etl_job(x):
    pass

@prefect.flow(log_prints=True)
async def load_all():
    pass

@flow(name=NAME)
def dynamic():
    pass
`
	c := &converter{o: Options{File: "prefect.yaml", ReadFile: func(p string) ([]byte, error) {
		if p != "flows/jobs.py" {
			return nil, errors.New("no such file")
		}
		return []byte(src), nil
	}}}
	for ep, want := range map[string]string{
		"flows/jobs.py:etl_job": "Nightly ETL", "flows/jobs.py:load_all": "load-all", "./flows/jobs.py:dynamic": "dynamic",
		"flows/missing.py:my_flow": "my-flow", "flows/jobs.py:Jobs.run_it": "run-it",
	} {
		if got := c.flowName(node{}, ep); got != want {
			t.Errorf("%s: %q, want %q", ep, got, want)
		}
	}
	if len(c.warnings) != 1 || !strings.Contains(c.warnings[0].text, "names its flow with an expression") {
		t.Errorf("warnings %v", c.warnings)
	}
}

// TestConvertDeterministic: the same prefect.yaml gives the same bytes.
func TestConvertDeterministic(t *testing.T) {
	src := []byte(`name: x
deployments:
  - name: a
    entrypoint: f.py:a
    parameters: {z: 1, a: {c: 2, b: [1, 2]}, m: "x"}
    work_pool: {name: p, work_queue_name: q, job_variables: {image: img, env: {B: "1", A: "2"}}}
`)
	var first []byte
	for i := 0; i < 20; i++ {
		res, err := Convert(Options{File: "prefect.yaml", Source: src, ReadFile: func(string) ([]byte, error) { return nil, errors.New("none") }})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Marshal(res.Project, "h")
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("two conversions differ:\n%s\n%s", first, b)
		}
	}
}
