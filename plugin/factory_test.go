package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: x}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: from-context}
current-context: ctx
`

// kfReal runs the command with a Factory over real flags, no fake client.
func kfReal(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	f := NewFactory(genericclioptions.NewConfigFlags(true))
	f.Dir = dir
	cmd := NewCmdFlowsWithFactory(f, streams)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), ExitCode(err)
}

func TestUnreachableCluster(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(unreachableKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"get", "runs"}, {"run", "hello/default"}, {"version"}} {
		_, errOut, code := kfReal(t, dir, append([]string{"--kubeconfig", kc}, args...)...)
		if code != 1 || !strings.Contains(errOut, `cannot reach the Kubernetes API server at https://127.0.0.1:1 (context "ctx"): connection refused`) {
			t.Errorf("%v: %d %s", args, code, errOut)
		}
	}
}

func TestNoKubeconfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBECONFIG", filepath.Join(dir, "missing"))
	t.Setenv("HOME", dir)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, errOut, code := kfReal(t, dir, "get", "runs")
	if code != 1 || !strings.Contains(errOut, "no kubeconfig") {
		t.Errorf("%d %s", code, errOut)
	}
}

func TestNamespaceResolution(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(unreachableKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := func(args ...string) string {
		f := NewFactory(genericclioptions.NewConfigFlags(true))
		f.Dir = dir
		cmd := NewCmdFlowsWithFactory(f, genericiooptions.NewTestIOStreamsDiscard())
		if err := cmd.ParseFlags(append([]string{"--kubeconfig", kc}, args...)); err != nil {
			t.Fatal(err)
		}
		n, err := f.Namespace()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := ns(); got != "from-context" {
		t.Errorf("no project file: %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "flows.jsonnet"), []byte(`{namespace: "team-" + std.extVar("gitSha")[0:0] + "data"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ns(); got != "team-data" {
		t.Errorf("flows.jsonnet: %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "flows.yaml"), []byte("namespace: from-file\npools: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ns(); got != "from-file" {
		t.Errorf("flows.yaml: %q", got)
	}
	if got := ns("-n", "flag"); got != "flag" {
		t.Errorf("-n: %q", got)
	}
}
