package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// Output.Objects stands in for parsing a file back (review reads them):
// for every file that has them, they must be what the file's YAML says.
func TestObjectsAreTheFiles(t *testing.T) {
	for _, file := range append(examples(t), "../examples/flux/flows.yaml") {
		l, err := project.Load(file, project.LoadOptions{ExtVars: goldenVars})
		if err != nil {
			t.Fatal(err)
		}
		out, err := render.Render(l, render.Options{Version: goldenVersion, AdmissionPolicy: true,
			Flux: render.FluxOptions{Source: "https://example.com/flows.git", Branch: "main", Path: "deploy", Namespace: "flux-system"}})
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for _, p := range out.Paths() {
			objs, ok := out.Objects(p)
			if !ok {
				continue
			}
			kept++
			parsed := parseDocs(t, out.Files[p])
			if got, want := asJSON(t, objs), asJSON(t, parsed); got != want {
				t.Errorf("%s %s: Objects gives\n%s\nthe file says\n%s", file, p, got, want)
			}
		}
		if kept < len(out.Files)/2 {
			t.Errorf("%s: objects kept for %d of %d files", file, kept, len(out.Files))
		}
	}
}

func parseDocs(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var docs []map[string]any
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, m)
	}
}

// asJSON writes objects the same way whatever their integer types.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ObjectsOnly gives the same objects without the bytes, and refuses to be
// written.
func TestObjectsOnly(t *testing.T) {
	l, err := project.Load("../examples/multi-pool/flows.yaml", project.LoadOptions{ExtVars: goldenVars})
	if err != nil {
		t.Fatal(err)
	}
	full, err := render.Render(l, render.Options{Version: goldenVersion})
	if err != nil {
		t.Fatal(err)
	}
	only, err := render.Render(l, render.Options{Version: goldenVersion, ObjectsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := only.Paths(), full.Paths(); asJSON(t, got) != asJSON(t, want) {
		t.Fatalf("paths %v, want %v", got, want)
	}
	for _, p := range full.Paths() {
		fo, fok := full.Objects(p)
		oo, ook := only.Objects(p)
		if fok != ook || asJSON(t, fo) != asJSON(t, oo) {
			t.Errorf("%s: objects differ", p)
		}
		if ook && only.Files[p] != nil {
			t.Errorf("%s: bytes kept", p)
		}
	}
	if only.ConfigDigest != full.ConfigDigest {
		t.Errorf("config digest %s, want %s", only.ConfigDigest, full.ConfigDigest)
	}
	if err := only.Write(t.TempDir()); err == nil {
		t.Error("an objects-only output was written")
	}
}
