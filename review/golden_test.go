package review

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

// now is the fixed clock of the golden files' schedule fire times.
var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func renderProject(t testing.TB, file string) *render.Output {
	t.Helper()
	l, err := project.Load(file, project.LoadOptions{ExtVars: map[string]string{project.ExtVarGitSHA: "abc1234"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Render(l, render.Options{Version: "v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func objectsOf(t testing.TB, out *render.Output) Objects {
	t.Helper()
	objs, err := FromOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// checkGolden compares the review in text and markdown (and json, for
// the capacity case) with testdata/CASE/review.{txt,md,json}.
func checkGolden(t *testing.T, name string, rv *Review) {
	t.Helper()
	formats := []struct{ format, file string }{{"text", "review.txt"}, {"markdown", "review.md"}}
	if name == "capacity" {
		formats = append(formats, struct{ format, file string }{"json", "review.json"})
	}
	for _, f := range formats {
		var b bytes.Buffer
		if err := rv.Write(&b, f.format); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", name, f.file), b.Bytes())
	}
}

// Each case is testdata/CASE/flows.yaml reviewed against testdata/base/.
func TestReviewProjects(t *testing.T) {
	base := objectsOf(t, renderProject(t, "testdata/base/flows.yaml"))
	for _, tc := range []struct {
		name        string
		changes     int
		errors      int
		mustInclude []Group
	}{
		{"unchanged", 0, 0, nil},
		{"capacity", 15, 0, []Group{Capacity, Admission}},
		{"deployments", 20, 0, []Group{Security, Deployments, Admission}},
		{"schedules", 7, 0, []Group{Schedules, Deployments, Admission}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := objectsOf(t, renderProject(t, filepath.Join("testdata", tc.name, "flows.yaml")))
			r := Compare(tc.name+"/flows.yaml", base, after, Options{Now: now})
			rv := &Review{Base: "base/flows.yaml", Head: tc.name + "/flows.yaml", Reports: []*Report{r}}
			if rv.Changes() != tc.changes || rv.Errors() != tc.errors {
				t.Errorf("%d changes, %d errors; want %d, %d", rv.Changes(), rv.Errors(), tc.changes, tc.errors)
			}
			for _, g := range tc.mustInclude {
				if len(r.group(g)) == 0 {
					t.Errorf("no change in group %s", g)
				}
			}
			if tc.changes == 0 && len(r.Hunks) != 0 {
				t.Errorf("hunks without changes: %v", r.Hunks)
			}
			checkGolden(t, tc.name, rv)
		})
	}
}

// TestReviewOverlay reviews a kustomize overlay over the rendered base
// against the base itself, both read from disk as `kubectl flows review
// OLD NEW` reads them: RBAC, pod-security labels, an image registry, and a
// default parameter and a schedule's parameter the schema rejects (errors).
func TestReviewOverlay(t *testing.T) {
	dir := t.TempDir()
	if err := renderProject(t, "testdata/base/flows.yaml").Write(filepath.Join(dir, "base")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "overlay"), os.DirFS("testdata/security/overlay")); err != nil {
		t.Fatal(err)
	}
	before, err := FromDir(filepath.Join(dir, "base"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := FromDir(filepath.Join(dir, "overlay"))
	if err != nil {
		t.Fatal(err)
	}
	r := Compare("security/overlay", before, after, Options{Now: now})
	rv := &Review{Base: "base (rendered)", Head: "security/overlay", Reports: []*Report{r}}
	if got := len(r.group(Security)); got != 10 {
		t.Errorf("%d security changes, want 10", got)
	}
	if rv.Errors() != 3 {
		t.Errorf("%d errors, want 3 (the default region the schema rejects, and a schedule's; the deployment's config data changed after render)", rv.Errors())
	}
	checkGolden(t, "security", rv)
}

// The same input gives the same bytes.
func TestReviewIsDeterministic(t *testing.T) {
	base := objectsOf(t, renderProject(t, "testdata/base/flows.yaml"))
	after := objectsOf(t, renderProject(t, "testdata/deployments/flows.yaml"))
	var first []byte
	for i := 0; i < 5; i++ {
		var b bytes.Buffer
		rv := &Review{Reports: []*Report{Compare("x", base, after, Options{Now: now})}}
		if err := rv.Write(&b, "json"); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b.Bytes()
		} else if !bytes.Equal(first, b.Bytes()) {
			t.Fatal("two reviews of the same change differ")
		}
	}
}
