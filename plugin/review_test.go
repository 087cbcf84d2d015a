package plugin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestReviewOverlaysInGit reviews the Flux example's overlays in a git
// repository: against the merge base with main (found without --base),
// an overlay whose working-tree copy raises a limit shows it and exits 1;
// an untouched one exits 0.
func TestReviewOverlaysInGit(t *testing.T) {
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.CopyFS(repo, os.DirFS("../examples/flux")); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "flux layout")
	git("checkout", "-q", "-b", "more-slots")
	prod := filepath.Join(repo, "clusters", "production", "kustomization.yaml")
	b, err := os.ReadFile(prod)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prod, bytes.Replace(b, []byte("concurrencyLimit: 40"), []byte("concurrencyLimit: 60"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(repo)

	review := func(args ...string) (string, int) {
		streams, _, out, _ := genericiooptions.NewTestIOStreams()
		cmd := NewCmdReview(streams)
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		return out.String(), ExitCode(err)
	}
	out, code := review("--overlay", "clusters/production", "--overlay", "clusters/staging", "-o", "markdown")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"#### clusters/production: 1 change", "pool batch concurrencyLimit: `40` → `60`", "#### clusters/staging: 0 changes"} {
		if !strings.Contains(out, want) {
			t.Errorf("the review does not say %q:\n%s", want, out)
		}
	}
	if out, code := review("--overlay", "clusters/staging"); code != 0 {
		t.Errorf("untouched overlay: exit %d, want 0:\n%s", code, out)
	}
	if _, code := review("--base", "no-such-ref", "--overlay", "clusters/staging"); code != 2 {
		t.Errorf("unknown base: exit %d, want 2", code)
	}
}
