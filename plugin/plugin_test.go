package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// run executes the root command as kubectl would, capturing its output.
func run(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCmdFlows(streams)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), ExitCode(err)
}

func TestInitRenderCheck(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := run(t, dir, "init"); code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	// Again: refuses to overwrite.
	if _, stderr, code := run(t, dir, "init"); code == 0 || !strings.Contains(stderr, "--force") {
		t.Fatalf("second init should refuse: %d %s", code, stderr)
	}
	// Not in git: gitSha has no value, and the error says what to do.
	if _, stderr, code := run(t, dir, "render"); code != 1 || !strings.Contains(stderr, "--ext-str gitSha=VALUE") {
		t.Fatalf("render outside git: %d %s", code, stderr)
	}
	args := []string{"--ext-str", "gitSha=abc1234"}
	if _, stderr, code := run(t, dir, append([]string{"render"}, args...)...); code != 0 {
		t.Fatalf("render: %d %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "deploy", "kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, dir, append([]string{"render", "--check"}, args...)...); code != 0 {
		t.Fatalf("check of a fresh render: %d %s", code, stderr)
	}
	// Change the project: --check exits 1 with a diff naming the file.
	if out, stderr, code := run(t, dir, "render", "--check", "--ext-str", "gitSha=def5678"); code != 1 ||
		!strings.Contains(out, "+            image: ghcr.io/acme/hello-flow:def5678") || !strings.Contains(stderr, "stale") {
		t.Fatalf("check of a stale render: %d\n%s\n%s", code, out, stderr)
	}
	// An error during --check is 2, apart from "stale".
	if _, _, code := run(t, dir, "render", "--check", "-f", "missing.yaml"); code != 2 {
		t.Fatalf("check with a missing file: exit %d, want 2", code)
	}
	if out, _, code := run(t, dir, append([]string{"validate"}, args...)...); code != 0 || !strings.Contains(out, "2 deployments") {
		t.Fatalf("validate: %d %s", code, out)
	}
}

func TestRenderFlux(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := run(t, dir, "init"); code != 0 {
		t.Fatal(stderr)
	}
	_, stderr, code := run(t, dir, "render", "--ext-str", "gitSha=abc", "--flux-source", "https://github.com/acme/flows", "--flux-branch", "prod")
	if code != 0 {
		t.Fatal(stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "deploy", "flux-sync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: GitRepository", "url: https://github.com/acme/flows", "branch: prod", "kind: Kustomization", "path: ./deploy", "prune: true"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("flux-sync.yaml lacks %q:\n%s", want, b)
		}
	}
	k, _ := os.ReadFile(filepath.Join(dir, "deploy", "kustomization.yaml"))
	if !strings.Contains(string(k), "flux-sync.yaml") {
		t.Errorf("kustomization.yaml does not list flux-sync.yaml:\n%s", k)
	}
}

func TestTemplateDefault(t *testing.T) {
	out, _, code := run(t, "", "template", "default")
	if code != 0 {
		t.Fatal(code)
	}
	var tmpl struct {
		JobConfiguration map[string]any `json:"job_configuration"`
		Variables        struct {
			Properties map[string]any `json:"properties"`
		} `json:"variables"`
	}
	if err := json.Unmarshal([]byte(out), &tmpl); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"image", "env", "namespace", "service_account_name", "backoff_limit", "finished_job_ttl", "pod_watch_timeout_seconds", "active_deadline_seconds", "node_selector", "tolerations"} {
		if _, ok := tmpl.Variables.Properties[v]; !ok {
			t.Errorf("default template lacks variable %s", v)
		}
	}
}

func TestGlobalFlagsOnEveryCommand(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdFlows(streams)
	for _, c := range root.Commands() {
		for _, f := range []string{"kubeconfig", "context", "namespace"} {
			if c.Flag(f) == nil && c.InheritedFlags().Lookup(f) == nil {
				t.Errorf("%s lacks --%s", c.Name(), f)
			}
		}
	}
}
