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

	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/krew"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// krewTools returns the real krew (kubectl-krew) and krew's own
// validate-krew-manifest, both built from sigs.k8s.io/krew by
// test/tools/build.sh beside the control-plane binaries.
func krewTools(t *testing.T) (kubectlKrew, validator string) {
	t.Helper()
	kubectlKrew = filepath.Join(cp.BinDir, "kubectl-krew")
	validator = filepath.Join(cp.BinDir, "validate-krew-manifest")
	for _, p := range []string{kubectlKrew, validator} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is missing: run `bash test/tools/build.sh` (it builds krew from the Go module proxy): %v", p, err)
		}
	}
	return kubectlKrew, validator
}

// releaseArchive packs the built plugin into this platform's release
// archive, as `make dist` does, and renders the krew manifest from
// .krew.yaml with that archive's real sha256 (other platforms get a
// placeholder sum: their archives are not built here). The manifest is
// written as flows.yaml, the name krew-index gives it.
func releaseArchive(t *testing.T, dir, version string) (manifest, archive string) {
	t.Helper()
	root, err := harness.RepoRoot()
	must(t, err)
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
	archive = filepath.Join(dir, krew.ArchiveName(version, runtime.GOOS, runtime.GOARCH))
	pack := krew.TarGz
	if runtime.GOOS == "windows" {
		pack = krew.Zip
	}
	data, err := pack(files)
	must(t, err)
	must(t, os.WriteFile(archive, data, 0o644))

	tmpl, err := os.ReadFile(filepath.Join(root, ".krew.yaml"))
	must(t, err)
	m, err := krew.Render(tmpl, version, func(url string) (string, error) {
		if filepath.Base(url) == filepath.Base(archive) {
			return krew.FileSHA256(archive)
		}
		return strings.Repeat("f", 64), nil
	})
	must(t, err)
	manifest = filepath.Join(dir, "flows.yaml")
	must(t, os.WriteFile(manifest, m, 0o644))
	return manifest, archive
}

// TestKrewInstall installs the release archive into a fresh KREW_ROOT with
// the real `kubectl krew install --manifest=... --archive=...`, then runs
// `kubectl flows version` through kubectl with only krew's bin directory
// (and kubectl's) on PATH: the layout a krew user gets. A tampered archive
// must be refused by krew's sha256 check.
func TestKrewInstall(t *testing.T) {
	t.Parallel()
	kubectlKrew, _ := krewTools(t)
	dir := t.TempDir()
	mf, archive := releaseArchive(t, dir, "v0.0.0-e2e")

	// kubectl finds krew as the kubectl-krew plugin, in a directory of its own.
	tools := filepath.Join(dir, "tools")
	must(t, os.MkdirAll(tools, 0o755))
	must(t, os.Symlink(kubectlKrew, filepath.Join(tools, "kubectl-krew")))
	krewRoot := filepath.Join(dir, "krew-root")
	kubectlDir := filepath.Dir(cp.KubectlPath())
	userPath := filepath.Join(krewRoot, "bin") + string(os.PathListSeparator) + kubectlDir
	env := append(os.Environ(), "KREW_ROOT="+krewRoot, "KUBECONFIG="+cp.Kubeconfig, "HOME="+dir, "PATH="+userPath)
	krewEnv := append(env[:len(env):len(env)], "PATH="+userPath+string(os.PathListSeparator)+tools)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, cp.KubectlPath(), args...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// krew checks the archive's sha256 against the manifest before it
	// unpacks anything.
	good, err := os.ReadFile(archive)
	must(t, err)
	must(t, os.WriteFile(archive, append(append([]byte(nil), good...), 0), 0o644))
	if out, err := run(krewEnv, "krew", "install", "--manifest="+mf, "--archive="+archive); err == nil || !strings.Contains(out, "checksum") {
		t.Fatalf("krew installed a tampered archive (err %v):\n%s", err, out)
	}
	must(t, os.WriteFile(archive, good, 0o644))

	start := time.Now()
	out, err := run(krewEnv, "krew", "install", "--manifest="+mf, "--archive="+archive)
	if err != nil {
		t.Fatalf("kubectl krew install: %v\n%s", err, out)
	}
	t.Logf("installed with krew in %v:\n%s", time.Since(start).Round(time.Millisecond), out)

	// krew's layout: the plugin unpacked under store/flows/VERSION, linked
	// from bin/, with a receipt.
	link := filepath.Join(krewRoot, "bin", "kubectl-flows")
	target, err := os.Readlink(link)
	if err != nil {
		t.Fatalf("krew did not link %s: %v", link, err)
	}
	if want := filepath.Join(krewRoot, "store", "flows", "v0.0.0-e2e", "kubectl-flows"); target != want {
		t.Errorf("%s -> %s, want %s", link, target, want)
	}
	for _, f := range []string{"kubectl_complete-flows", "LICENSE"} {
		if _, err := os.Stat(filepath.Join(krewRoot, "store", "flows", "v0.0.0-e2e", f)); err != nil {
			t.Errorf("the files operations of the manifest did not install %s: %v", f, err)
		}
	}
	receipt, err := os.ReadFile(filepath.Join(krewRoot, "receipts", "flows.yaml"))
	if err != nil {
		t.Fatalf("no krew receipt: %v", err)
	}
	var r struct {
		Spec struct {
			Version string `json:"version"`
		} `json:"spec"`
	}
	must(t, yaml.Unmarshal(receipt, &r))
	if r.Spec.Version != "v0.0.0-e2e" {
		t.Errorf("receipt version %q", r.Spec.Version)
	}

	out, err = run(env, "flows", "version")
	if err != nil || !strings.HasPrefix(out, "kubectl-flows ") {
		t.Fatalf("kubectl flows version through the krew install: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	out, _ = run(env, "plugin", "list")
	if !strings.Contains(out, link) {
		t.Errorf("kubectl plugin list does not show the krew-installed plugin:\n%s", out)
	}
}

// TestKrewManifestValidates checks the manifest made from .krew.yaml with
// krew's own validate-krew-manifest (the check krew-index runs on a pull
// request: structure, a supported platform per selector, no overlapping
// selectors), and that krew.Validate, which `make dist` runs where krew is
// not installed, rejects what krew's validator rejects.
func TestKrewManifestValidates(t *testing.T) {
	t.Parallel()
	_, validator := krewTools(t)
	dir := t.TempDir()
	mf, _ := releaseArchive(t, dir, "v1.2.3")
	validate := func(file string) (string, error) {
		cmd := exec.Command(validator, "-manifest", file, "-skip-install")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := validate(mf); err != nil {
		t.Fatalf("validate-krew-manifest rejects the manifest made from .krew.yaml: %v\n%s", err, out)
	}
	data, err := os.ReadFile(mf)
	must(t, err)
	p, err := krew.Parse(data)
	must(t, err)
	must(t, krew.Validate(mf, p))

	for _, tc := range []struct {
		name string
		file string
		edit func(*krew.Plugin)
	}{
		{"name must match file", "kubectl-flows.yaml", func(*krew.Plugin) {}},
		{"uppercase sha", "flows.yaml", func(p *krew.Plugin) { p.Spec.Platforms[0].Sha256 = strings.ToUpper(p.Spec.Platforms[0].Sha256) }},
		{"other selector keys", "flows.yaml", func(p *krew.Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["distro"] = "debian" }},
		{"version without v", "flows.yaml", func(p *krew.Plugin) { p.Spec.Version = "1.2.3" }},
		{"no short description", "flows.yaml", func(p *krew.Plugin) { p.Spec.ShortDescription = "" }},
		{"no bin", "flows.yaml", func(p *krew.Plugin) { p.Spec.Platforms[1].Bin = "" }},
		{"no platforms", "flows.yaml", func(p *krew.Plugin) { p.Spec.Platforms = nil }},
		{"overlapping selectors", "flows.yaml", func(p *krew.Plugin) { p.Spec.Platforms[1].Selector = p.Spec.Platforms[0].Selector }},
		{"selector matching no platform", "flows.yaml", func(p *krew.Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["os"] = "plan9" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad, err := krew.Parse(data)
			must(t, err)
			tc.edit(bad)
			b, err := yaml.Marshal(bad)
			must(t, err)
			sub := filepath.Join(t.TempDir(), tc.file)
			must(t, os.WriteFile(sub, b, 0o644))
			out, err := validate(sub)
			if err == nil {
				t.Fatalf("validate-krew-manifest accepts it:\n%s", b)
			}
			if err := krew.Validate(sub, bad); err == nil {
				t.Errorf("krew.Validate accepts what krew rejects with:\n%s", fatalLine(out))
			}
		})
	}
}

// fatalLine picks the validator's klog.Fatal line out of its output (the
// stack trace that follows says nothing to the reader).
func fatalLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "F") {
			return l
		}
	}
	return s
}
