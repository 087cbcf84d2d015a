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

// TestReviewEnvironmentsInGit reviews the Flux example in a git
// repository: against the merge base with main (found without --base),
// each environment is reviewed on its own, so raising production's pool
// limit shows in production only; --env reviews one. An overlay over an
// environment's render that patches config data is an error naming the
// ConfigMap; one that scales the reconciler and labels the namespace is
// not.
func TestReviewEnvironmentsInGit(t *testing.T) {
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
	write := func(path, content string) {
		t.Helper()
		full := filepath.Join(repo, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("overlays/patches-config/kustomization.yaml", `resources: [../../clusters/staging]
patches:
  - patch: |-
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: flows-pool-batch, namespace: flows}
      data:
        pool.yaml: |
          concurrencyLimit: 3
          name: batch
`)
	write("overlays/reconciler-only/kustomization.yaml", `resources: [../../clusters/staging]
replicas: [{name: flows-reconciler, count: 3}]
images: [{name: ghcr.io/kubectl-flows/flows-reconciler, newName: registry.example.com/flows-reconciler}]
patches:
  - patch: |-
      apiVersion: v1
      kind: Namespace
      metadata: {name: flows, labels: {team: shop}}
`)
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "flux layout")
	git("checkout", "-q", "-b", "more-slots")
	b, err := os.ReadFile(filepath.Join(repo, "flows.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write("flows.yaml", string(bytes.Replace(b, []byte("concurrencyLimit: 40"), []byte("concurrencyLimit: 60"), 1)))
	t.Chdir(repo)

	review := func(args ...string) (string, int) {
		streams, _, out, _ := genericiooptions.NewTestIOStreams()
		cmd := NewCmdReview(streams)
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		return out.String(), ExitCode(err)
	}
	out, code := review("-o", "markdown")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"#### flows.yaml, environment staging: 0 changes", "#### flows.yaml, environment production: 1 change", "pool batch concurrencyLimit: `40` → `60`"} {
		if !strings.Contains(out, want) {
			t.Errorf("the review does not say %q:\n%s", want, out)
		}
	}
	if out, code := review("--env", "staging"); code != 0 || strings.Contains(out, "production") {
		t.Errorf("--env staging: exit %d, want 0, staging only:\n%s", code, out)
	}
	if out, code := review("clusters/staging", "clusters/production"); code != 1 || !strings.Contains(out, "tag warehouse limit: 2 → 6") {
		t.Errorf("staging against production: exit %d, want 1 with the tag limit:\n%s", code, out)
	}
	out, code = review("--overlay", "overlays/patches-config")
	if code != 2 || !strings.Contains(out, "ConfigMap flows/flows-pool-batch: its data is not what render signed") || !strings.Contains(out, "Give each environment its own render") {
		t.Errorf("an overlay patching config data: exit %d, want 2 naming the ConfigMap:\n%s", code, out)
	}
	if out, code := review("--overlay", "overlays/reconciler-only"); code != 0 {
		t.Errorf("an overlay of the reconciler and namespace labels: exit %d, want 0:\n%s", code, out)
	}
	if _, code := review("--base", "no-such-ref", "--env", "staging"); code != 2 {
		t.Errorf("unknown base: exit %d, want 2", code)
	}
}
