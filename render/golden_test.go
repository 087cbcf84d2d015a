package render_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/internal/golden"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// goldenVars pins the values that would otherwise come from git, so the
// golden files do not change with every commit.
var goldenVars = map[string]string{project.ExtVarGitSHA: "0123abc"}

const goldenVersion = "v0.1.0"

// examples lists the project files under examples/.
func examples(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../examples/*/flows.yaml", "../examples/*/flows.jsonnet"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("want at least 4 example projects, found %v", files)
	}
	return files
}

func renderFile(t testing.TB, file string) *render.Output {
	t.Helper()
	l, err := project.Load(file, project.LoadOptions{ExtVars: goldenVars})
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	out, err := render.Render(l, render.Options{Version: goldenVersion})
	if err != nil {
		t.Fatalf("rendering %s: %v", file, err)
	}
	return out
}

// TestGolden renders every example and compares it with the deploy/
// directory committed beside it (examples with environments are rendered
// by their own tests, with the command). Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	for _, file := range examples(t) {
		dir := filepath.Join(filepath.Dir(file), "deploy")
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			if l, err := project.Load(file, project.LoadOptions{ExtVars: goldenVars}); err == nil && len(l.Environments) > 0 {
				t.Skipf("%s renders one directory per environment: its own test checks them", file)
			}
			out := renderFile(t, file)
			if golden.Update() {
				if err := out.Write(dir); err != nil {
					t.Fatal(err)
				}
			}
			diff, err := out.Diff(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff != "" {
				t.Errorf("%s is stale (go test ./render -update rewrites it):\n%s", dir, diff)
			}
		})
	}
}

// TestDeterministic renders each example many times: map iteration order
// must never reach the output.
func TestDeterministic(t *testing.T) {
	for _, file := range examples(t) {
		first := renderFile(t, file)
		for i := 0; i < 10; i++ {
			again := renderFile(t, file)
			if len(again.Files) != len(first.Files) {
				t.Fatalf("%s: render %d produced %d files, first produced %d", file, i, len(again.Files), len(first.Files))
			}
			for p, b := range first.Files {
				if !bytes.Equal(b, again.Files[p]) {
					t.Fatalf("%s: %s differs between two renders", file, p)
				}
			}
		}
	}
}

// TestCheckFindsOneByteDrift: --check must fail on any change, including
// one byte, a deleted file and a stale extra file.
func TestCheckFindsOneByteDrift(t *testing.T) {
	out := renderFile(t, "../examples/hello/flows.yaml")
	dir := t.TempDir()
	if err := out.Write(dir); err != nil {
		t.Fatal(err)
	}
	if diff, err := out.Diff(dir); err != nil || diff != "" {
		t.Fatalf("fresh render should match: err=%v diff=%s", err, diff)
	}

	target := filepath.Join(dir, "deployments", "flows-deployment-hello-default.yaml")
	orig, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	drifted := bytes.Clone(orig)
	i := bytes.Index(drifted, []byte("name: world"))
	drifted[i+len("name: wor")] = 'X' // world -> worXd
	if err := os.WriteFile(target, drifted, 0o644); err != nil {
		t.Fatal(err)
	}
	diff, err := out.Diff(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains([]byte(diff), []byte("worXd")) || !bytes.Contains([]byte(diff), []byte("b/deployments/flows-deployment-hello-default.yaml")) {
		t.Fatalf("diff does not show the one-byte drift:\n%s", diff)
	}

	// Restore it, then leave a stale generated file behind.
	if err := os.WriteFile(target, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "deployments", "flows-deployment-gone-away.yaml")
	if err := os.WriteFile(stale, []byte(render.Header+"kind: ConfigMap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if diff, _ := out.Diff(dir); !bytes.Contains([]byte(diff), []byte("flows-deployment-gone-away.yaml")) {
		t.Fatalf("diff does not report the stale file:\n%s", diff)
	}
	// Write removes the stale generated file but keeps hand-written ones.
	own := filepath.Join(dir, "README.md")
	if err := os.WriteFile(own, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := out.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale generated file survived Write: %v", err)
	}
	if _, err := os.Stat(own); err != nil {
		t.Fatalf("hand-written file removed: %v", err)
	}
}

// A render over an unchanged render writes nothing: files keep their
// modification times, so tools that watch the directory see no change.
func TestWriteLeavesUnchangedFiles(t *testing.T) {
	out := renderFile(t, "../examples/hello/flows.yaml")
	dir := t.TempDir()
	if err := out.Write(dir); err != nil {
		t.Fatal(err)
	}
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range out.Paths() {
		if err := os.Chtimes(filepath.Join(dir, p), past, past); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Paths() {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(past) {
			t.Errorf("%s was written again", p)
		}
	}
}
