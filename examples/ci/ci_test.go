// Package ci holds the CI recipe (flows-review.sh and a GitHub Actions
// workflow that runs it); its test runs the script on a real git
// repository.
package ci

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/internal/golden"
)

// A fixed identity and clock make the commits, and so the base SHA the
// comment names, the same on every run.
var gitEnv = []string{
	"GIT_AUTHOR_NAME=CI", "GIT_AUTHOR_EMAIL=ci@example.com", "GIT_AUTHOR_DATE=2026-12-01T08:00:00Z",
	"GIT_COMMITTER_NAME=CI", "GIT_COMMITTER_EMAIL=ci@example.com", "GIT_COMMITTER_DATE=2026-12-01T08:00:00Z",
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
}

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), gitEnv...), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// buildPlugin builds kubectl-flows from this tree.
func buildPlugin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kubectl-flows")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-flows")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestScriptOnAPullRequest makes a repository whose main branch has a
// project and its render, and a branch that changes a queue limit, an
// image tag and a schedule (rendered and committed, as a good pull request
// is), then runs flows-review.sh on the branch: the render is current, so
// it exits 0, and the comment body is the golden one. A second run after a
// project change that is not rendered must exit 1 and say deploy/ is
// stale.
func TestScriptOnAPullRequest(t *testing.T) {
	kf := buildPlugin(t)
	script, err := filepath.Abs("flows-review.sh")
	must(t, err)
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		if _, err := run(t, repo, nil, "git", args...); err != nil {
			t.Fatal(err)
		}
	}
	commitProject := func(src, msg string) {
		t.Helper()
		b, err := os.ReadFile(src)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(repo, "flows.yaml"), b, 0o644))
		if _, err := run(t, repo, nil, kf, "render"); err != nil {
			t.Fatal(err)
		}
		git("add", "-A")
		git("commit", "-q", "-m", msg)
	}
	git("init", "-q", "-b", "main")
	commitProject("testdata/flows-before.yaml", "flows: orders/hourly")
	git("checkout", "-q", "-b", "faster-orders")
	commitProject("testdata/flows-after.yaml", "flows: orders 1.5.0, more slots, weekday mornings")

	comment := filepath.Join(t.TempDir(), "comment.md")
	env := []string{"KUBECTL_FLOWS=" + kf, "BASE_REF=main", "COMMENT_FILE=" + comment,
		"REVIEW_ARGS=--now 2026-12-01T09:00:00Z", "GITHUB_TOKEN=", "GITHUB_BASE_REF="}
	if _, err := run(t, repo, env, "bash", script); err != nil {
		t.Fatalf("flows-review.sh on a rendered pull request: %v", err)
	}
	got, err := os.ReadFile(comment)
	must(t, err)
	golden.Check(t, filepath.Join("testdata", "comment.md"), got)
	for _, s := range []string{"concurrencyLimit: `5` → `50`", "`ghcr.io/acme/orders:1.4.0` → `ghcr.io/acme/orders:1.5.0`", "next: Wed 2026-12-02 06:30 CET"} {
		if !strings.Contains(string(got), s) {
			t.Errorf("the comment does not say %q", s)
		}
	}

	// A change to flows.yaml without a new render fails the job.
	b, err := os.ReadFile(filepath.Join(repo, "flows.yaml"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(repo, "flows.yaml"), bytes.Replace(b, []byte("concurrencyLimit: 10"), []byte("concurrencyLimit: 12"), 1), 0o644))
	_, err = run(t, repo, env, "bash", script)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("stale render: want exit status 1, got %v", err)
	}
	got, err = os.ReadFile(comment)
	must(t, err)
	if !strings.Contains(string(got), "**The committed render is stale** (`deploy`): run `kubectl flows render -f flows.yaml`") || !strings.Contains(string(got), "concurrencyLimit: `10` → `12`") {
		t.Errorf("the comment on a stale render does not say so, or lacks the review:\n%s", got)
	}
}
