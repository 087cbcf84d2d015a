package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/krew"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// TestKrewInstall packs the built plugin into this platform's release
// archive (as `make dist` does), renders the krew manifest from .krew.yaml
// with the archive's real sha256, installs it into a fresh KREW_ROOT with
// `kubectl krew install --manifest=... --archive=...`, and runs `kubectl
// flows version` through kubectl with only KREW_ROOT/bin on PATH.
//
// The real krew is used when test/tools/build.sh could build it (it sits
// beside the control-plane binaries). Where the Go module proxy does not
// serve sigs.k8s.io/krew, krew.InstallLocal does the same steps (validate
// the manifest, match os/arch, check the sha256, unpack, apply files, link
// the bin) and the test says so.
func TestKrewInstall(t *testing.T) {
	root, err := harness.RepoRoot()
	must(t, err)
	dir := t.TempDir()
	const version = "v0.0.0-e2e"
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	files := map[string][]byte{}
	for _, f := range []string{"kubectl-flows" + exe, "kubectl_complete-flows" + exe} {
		b, err := os.ReadFile(filepath.Join(binDir, f))
		must(t, err)
		files[f] = b
	}
	lic, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	must(t, err)
	files["LICENSE"] = lic
	archive := filepath.Join(dir, krew.ArchiveName(version, runtime.GOOS, runtime.GOARCH))
	pack := krew.TarGz
	if runtime.GOOS == "windows" {
		pack = krew.Zip
	}
	data, err := pack(files)
	must(t, err)
	must(t, os.WriteFile(archive, data, 0o644))

	tmpl, err := os.ReadFile(filepath.Join(root, ".krew.yaml"))
	must(t, err)
	manifest, err := krew.Render(tmpl, version, func(url string) (string, error) {
		if filepath.Base(url) == filepath.Base(archive) {
			return krew.FileSHA256(archive)
		}
		return strings.Repeat("f", 64), nil // other platforms: not built here
	})
	must(t, err)
	mf := filepath.Join(dir, "flows.yaml")
	must(t, os.WriteFile(mf, manifest, 0o644))

	krewRoot := filepath.Join(dir, "krew-root")
	kubectlDir := filepath.Dir(cp.KubectlPath())
	path := filepath.Join(krewRoot, "bin") + string(os.PathListSeparator) + kubectlDir
	env := append(os.Environ(), "KREW_ROOT="+krewRoot, "KUBECONFIG="+cp.Kubeconfig, "HOME="+dir, "PATH="+path)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	if krewBin := filepath.Join(cp.BinDir, "krew"); fileExists(krewBin) {
		// kubectl finds krew as the kubectl-krew plugin.
		tools := filepath.Join(dir, "tools")
		must(t, os.MkdirAll(tools, 0o755))
		must(t, os.Symlink(krewBin, filepath.Join(tools, "kubectl-krew")))
		cmd := exec.CommandContext(ctx, cp.KubectlPath(), "krew", "install", "--manifest="+mf, "--archive="+archive)
		cmd.Env = append(env, "PATH="+path+string(os.PathListSeparator)+tools)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl krew install: %v\n%s", err, out)
		}
		t.Logf("installed with the real krew in %v:\n%s", time.Since(start).Round(time.Millisecond), out)
	} else {
		must(t, krew.InstallLocal(krewRoot, mf, archive))
		t.Logf("krew is not available here (test/tools/build.sh could not get sigs.k8s.io/krew from the module proxy); installed with krew.InstallLocal in %v",
			time.Since(start).Round(time.Millisecond))
	}

	cmd := exec.CommandContext(ctx, cp.KubectlPath(), "flows", "version")
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "kubectl-flows ") {
		t.Fatalf("kubectl flows version through the krew install: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	cmd = exec.CommandContext(ctx, cp.KubectlPath(), "plugin", "list")
	cmd.Env = env
	out, _ = cmd.CombinedOutput()
	if !strings.Contains(string(out), filepath.Join(krewRoot, "bin", "kubectl-flows")) {
		t.Errorf("kubectl plugin list does not show the krew-installed plugin:\n%s", out)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
