package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

const pinDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestReconcilerImage: the Deployment runs the image the project names,
// pinned by digest if it says so, or the release of the plugin's version.
// A development build's own image (latest) is the node's copy, not pulled;
// every other image keeps Kubernetes' default pull policy.
func TestReconcilerImage(t *testing.T) {
	for _, tc := range []struct {
		image, version, want, pull string
	}{
		{"", "v0.2.0", "ghcr.io/kubectl-flows/flows-reconciler:v0.2.0", ""},
		{"", "dev", "ghcr.io/kubectl-flows/flows-reconciler:latest", "IfNotPresent"},
		{"", "v0.2.0-3-gabcdef0-dirty", "ghcr.io/kubectl-flows/flows-reconciler:latest", "IfNotPresent"},
		{"registry.example.com/flows-reconciler:v9", "v0.2.0", "registry.example.com/flows-reconciler:v9", ""},
		{"registry.example.com/flows-reconciler:latest", "dev", "registry.example.com/flows-reconciler:latest", ""},
		{"registry.example.com/flows-reconciler@" + pinDigest, "v0.2.0", "registry.example.com/flows-reconciler@" + pinDigest, ""},
		{"registry.example.com:5000/team/flows-reconciler@" + pinDigest, "v0.2.0", "registry.example.com:5000/team/flows-reconciler@" + pinDigest, ""},
		// A tag beside the digest is kept for people; the digest decides.
		{"registry.example.com/flows-reconciler:v9@" + pinDigest, "v0.2.0", "registry.example.com/flows-reconciler:v9@" + pinDigest, ""},
	} {
		l := loadWithReconcilerImage(t, tc.image)
		out, err := render.Render(l, render.Options{Version: tc.version})
		if err != nil {
			t.Fatalf("%q: %v", tc.image, err)
		}
		var images, pulls []string
		for _, line := range strings.Split(string(out.Files["reconciler.yaml"]), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "image: "); ok {
				images = append(images, s)
			}
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "imagePullPolicy: "); ok {
				pulls = append(pulls, s)
			}
		}
		if len(images) != 1 || images[0] != tc.want {
			t.Errorf("reconciler.image %q, plugin %s: the Deployment runs %v, want %s", tc.image, tc.version, images, tc.want)
		}
		if pull := strings.Join(pulls, ","); pull != tc.pull {
			t.Errorf("reconciler.image %q, plugin %s: imagePullPolicy %q, want %q", tc.image, tc.version, pull, tc.pull)
		}
	}
}

func TestReconcilerImageRefused(t *testing.T) {
	for _, img := range []string{
		"registry.example.com/flows-reconciler@sha256:0123",     // a digest too short
		"registry.example.com/Flows-Reconciler:v1",              // upper case
		"registry.example.com/flows-reconciler@md5:0123456789a", // no such algorithm
	} {
		_, err := project.Load(writeProject(t, img), project.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), "reconciler.image") {
			t.Errorf("reconciler.image %q: %v, want an error naming reconciler.image", img, err)
		}
	}
}

func loadWithReconcilerImage(t *testing.T, image string) *project.Loaded {
	t.Helper()
	l, err := project.Load(writeProject(t, image), project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func writeProject(t *testing.T, image string) string {
	t.Helper()
	src := `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: r
namespace: flows
pools: [{name: p}]
deployments:
  - {flow: a, name: b, entrypoint: a.py:a, image: x:1, pool: p}
`
	if image != "" {
		src += "reconciler:\n  image: " + image + "\n"
	}
	file := filepath.Join(t.TempDir(), "flows.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}
