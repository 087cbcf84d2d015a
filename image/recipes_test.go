package image

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// layerPaths lists the entries of all of img's layers.
func layerPaths(t *testing.T, img v1.Image) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, l := range layers {
		for _, h := range tarEntries(t, must(l.Uncompressed())) {
			paths = append(paths, h.Name)
		}
	}
	return paths
}

func TestReconcilerImage(t *testing.T) {
	bin := []byte("\x7fELF the reconciler")
	img, err := Reconciler(bin, "v1.2.3", "arm64", epoch)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Reconciler(append([]byte(nil), bin...), "v1.2.3", "arm64", epoch)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, img) != digest(t, again) {
		t.Errorf("the same binary gave %s, then %s", digest(t, img), digest(t, again))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/flows-reconciler" || cf.Architecture != "arm64" ||
		c.Labels["org.opencontainers.image.version"] != "v1.2.3" {
		t.Errorf("config: user %q, entrypoint %q, arch %s, labels %v", c.User, c.Entrypoint, cf.Architecture, c.Labels)
	}
	// The binary and the user's name, nothing else: no shell, no libc.
	want := "etc/ etc/group etc/passwd flows-reconciler"
	if got := strings.Join(layerPaths(t, img), " "); got != want {
		t.Errorf("the reconciler image holds %q, want %q", got, want)
	}
}

// TestReconcilerRefIsRenders: the image `make image` tags is the one a
// rendered install of the same version runs.
func TestReconcilerRefIsRenders(t *testing.T) {
	for _, version := range []string{"v0.3.0", "dev", "v0.3.0-2-gabc1234-dirty"} {
		out := renderHello(t, version)
		if !strings.Contains(string(out.Files["reconciler.yaml"]), "image: "+ReconcilerRef(version)+"\n") {
			t.Errorf("version %s: reconciler.yaml does not run %s", version, ReconcilerRef(version))
		}
	}
}

// TestHelloFlowRefIsRenders: HelloFlowRef is what the hello example's
// deployments run when rendered with --ext-str gitSha=demo.
func TestHelloFlowRefIsRenders(t *testing.T) {
	out := renderHello(t, "v0.3.0")
	for _, f := range []string{"deployments/flows-deployment-hello-default.yaml", "deployments/flows-deployment-hello-arthur.yaml"} {
		if !strings.Contains(string(out.Files[f]), "image: "+HelloFlowRef+"\n") {
			t.Errorf("%s does not run %s", f, HelloFlowRef)
		}
	}
}

func renderHello(t *testing.T, version string) *render.Output {
	t.Helper()
	l, err := project.Load("../examples/hello/flows.yaml", project.LoadOptions{ExtVars: map[string]string{project.ExtVarGitSHA: "demo"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Render(l, render.Options{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPauseImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	img, err := Pause(context.Background(), "", runtime.GOARCH, epoch)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65535:65535" || strings.Join(cf.Config.Entrypoint, " ") != "/pause" {
		t.Errorf("config %+v", cf.Config)
	}
	if got := strings.Join(layerPaths(t, img), " "); got != "pause" {
		t.Errorf("the pause image holds %q", got)
	}
}

// TestReconcilerBinaryReproducible builds cmd/flows-reconciler as `make
// image` does, in this checkout and in a copy of it elsewhere: the bytes,
// and so the images' digests, must not differ.
func TestReconcilerBinaryReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the reconciler twice")
	}
	ctx := context.Background()
	root := moduleRoot(t)
	copyDir := filepath.Join(t.TempDir(), "elsewhere")
	copyCheckout(t, root, copyDir)
	a, err := ReconcilerBinary(ctx, root, "v0.0.0-test", runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReconcilerBinary(ctx, copyDir, "v0.0.0-test", runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatalf("two builds of the reconciler differ (%d and %d bytes): the checkout's path or the build leaks into the binary", len(a), len(b))
	}
	ia, err := Reconciler(a, "v0.0.0-test", runtime.GOARCH, epoch)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := Reconciler(b, "v0.0.0-test", runtime.GOARCH, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, ia) != digest(t, ib) {
		t.Errorf("digests %s and %s", digest(t, ia), digest(t, ib))
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// copyCheckout copies the files git would (tracked and untracked, not
// ignored) of root to dst.
func copyCheckout(t *testing.T, root, dst string) {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): cannot copy it", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
