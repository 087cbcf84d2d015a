// Package flux is an example repository layout for two environments with
// Flux; its test builds each overlay with `kubectl kustomize` and checks
// the result, the Flux objects and the review between them against golden
// files.
package flux

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/internal/golden"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/review"
)

var envs = []string{"staging", "production"}

func goldenFile(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got)
}

// TestOverlaysBuild builds clusters/<env> with kubectl's own kustomize,
// as Flux's kustomize-controller builds it, and checks it against
// testdata/<env>.yaml; review's reading of the overlay (kustomize's Go
// API) must hold the same objects.
func TestOverlaysBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is not on PATH: %v", err)
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			dir := filepath.Join("clusters", env)
			out, err := exec.Command(kubectl, "kustomize", dir).Output()
			if err != nil {
				t.Fatalf("kubectl kustomize %s: %v", dir, err)
			}
			goldenFile(t, filepath.Join("testdata", env+".yaml"), out)
			byKubectl, err := review.FromYAML("kubectl kustomize "+dir, out)
			if err != nil {
				t.Fatal(err)
			}
			byReview, err := review.FromDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			empty := review.Compare(dir, byKubectl, byReview, review.Options{})
			if len(empty.Hunks) != 0 {
				t.Errorf("review reads %s differently from kubectl kustomize: %+v", dir, empty.Hunks)
			}
		})
	}
}

// TestFluxObjects renders the project with --flux-source for each
// environment: a GitRepository and a Kustomization that applies
// clusters/<env>, committed in clusters/<env>/flux/ (outside the overlay,
// applied once per cluster).
func TestFluxObjects(t *testing.T) {
	l, err := project.Load("flows.yaml", project.LoadOptions{ExtVars: map[string]string{project.ExtVarGitSHA: "0123abc"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range envs {
		out, err := render.Render(l, render.Options{Version: "v0.1.0", Flux: render.FluxOptions{
			Source: "https://github.com/acme/shop-flows", Branch: "main", Path: "clusters/" + env,
		}})
		if err != nil {
			t.Fatal(err)
		}
		goldenFile(t, filepath.Join("clusters", env, "flux", "flux-sync.yaml"), out.Files["flux-sync.yaml"])
	}
}

// TestReviewPromotion reviews production's overlay against staging's:
// what promoting the same render from one environment to the other
// changes.
func TestReviewPromotion(t *testing.T) {
	staging, err := review.FromDir("clusters/staging")
	if err != nil {
		t.Fatal(err)
	}
	production, err := review.FromDir("clusters/production")
	if err != nil {
		t.Fatal(err)
	}
	r := review.Compare("clusters/production", staging, production, review.Options{Now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)})
	rv := &review.Review{Base: "clusters/staging", Head: "clusters/production", Reports: []*review.Report{r}}
	var b bytes.Buffer
	if err := rv.Write(&b, "text"); err != nil {
		t.Fatal(err)
	}
	goldenFile(t, filepath.Join("testdata", "staging-to-production.txt"), b.Bytes())
}
