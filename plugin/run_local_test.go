package plugin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const localProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: local
namespace: flows
pools:
  - name: kubernetes
    jobVariables: {env: {GREETING: hello from the pool}}
deployments:
  - {flow: hello, name: default, entrypoint: "flows/hello.py:hello", image: "ghcr.io/acme/hello:{{ gitSha }}", pool: kubernetes,
     parameters: {name: world}, parameterSchema: {type: object, properties: {name: {type: string}}}}
  - {flow: types, name: default, entrypoint: "flows/types.py:show", image: img, pool: kubernetes, parameters: {count: 1},
     jobVariables: {env: {LEVEL: debug}}}
  - {flow: boom, name: default, entrypoint: "flows/boom.py:boom", image: img, pool: kubernetes}
  - {flow: gone, name: file, entrypoint: "flows/nope.py:hello", image: img, pool: kubernetes}
  - {flow: gone, name: function, entrypoint: "flows/hello.py:nope", image: img, pool: kubernetes}
  - {flow: own, name: command, entrypoint: "flows/hello.py:hello", image: img, pool: kubernetes, jobVariables: {command: "PYTHON flows/hello.py"}}
  - {flow: own, name: image, entrypoint: "flows/hello.py:hello", image: img, pool: kubernetes, jobVariables: {command: ""}}
`

// localDir writes a project of small flows, outside git, beside the hello
// example's flow file.
func localDir(t *testing.T) (dir, python string) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH: run --local cannot be tested here")
	}
	dir = t.TempDir()
	hello, err := os.ReadFile("../examples/hello/flows/hello.py")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"flows.yaml":     strings.ReplaceAll(localProject, "PYTHON", python),
		"flows/hello.py": string(hello),
		"flows/types.py": `import os

def show(count, ratio=0.5, items=(), opts=None):
    for v in (count, ratio, items, opts):
        print(type(v).__name__, repr(v))
    for k in ("FLOWS_RUN_NAME", "FLOWS_DEPLOYMENT", "FLOWS_FLOW", "FLOWS_ENTRYPOINT", "GREETING", "LEVEL"):
        print(k, os.environ.get(k))
    print("cwd", os.path.basename(os.getcwd()))
`,
		"flows/boom.py": "def boom():\n    print('working')\n    raise RuntimeError('the flow broke')\n",
	}
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, python
}

// TestRunLocalHello runs the hello example's flow as `run --local` does,
// with a parameter from the command line.
func TestRunLocalHello(t *testing.T) {
	dir, _ := localDir(t)
	out, errOut, code := run(t, dir, "run", "--local", "hello/default", "-p", "name=Ford", "--name", "try-1")
	if code != 0 || out != "Hello, Ford!\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, want := range []string{`run try-1 of hello/default: flows/hello.py:hello in . with parameters {"name":"Ford"}`, "run try-1 Completed after"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// TestRunLocalTypedParametersAndEnv: -p values arrive with their JSON
// types, the deployment's defaults fill the rest, and the process gets the
// FLOWS_* environment and the pool's and deployment's env job variables,
// in the project directory.
func TestRunLocalTypedParametersAndEnv(t *testing.T) {
	dir, _ := localDir(t)
	sub := filepath.Join(dir, "flows")
	out, errOut, code := run(t, sub, "run", "--local", "types/default", "-f", "../flows.yaml", "-p", "ratio=2.5", "-p", `items=[1,"a"]`, "-p", `opts={"k":true}`, "--name", "typed")
	want := `int 1
float 2.5
list [1, 'a']
dict {'k': True}
FLOWS_RUN_NAME typed
FLOWS_DEPLOYMENT types/default
FLOWS_FLOW types
FLOWS_ENTRYPOINT flows/types.py:show
GREETING hello from the pool
LEVEL debug
cwd ` + filepath.Base(dir) + "\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, errOut, out, want)
	}
}

// TestRunLocalFailures: a raising flow is Failed (exit 2) with its
// traceback shown; a missing file or function is one clear line; bad
// parameters are Rejected before anything runs.
func TestRunLocalFailures(t *testing.T) {
	dir, _ := localDir(t)
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"boom/default"}, ExitFailed, []string{"working", "Traceback (most recent call last):", `flows/boom.py", line 3, in boom`, "RuntimeError: the flow broke", "Failed after", "exit status 1"}},
		{[]string{"gone/file"}, ExitFailed, []string{"kubectl-flows: entrypoint flows/nope.py:hello: file flows/nope.py not found in " + dir}},
		{[]string{"gone/function"}, ExitFailed, []string{"kubectl-flows: entrypoint flows/hello.py:nope: flows/hello.py has no function 'nope' (it defines: hello)"}},
		{[]string{"hello/default", "-p", "name=3"}, ExitRejected, []string{"not run: parameters of hello/default: parameters do not match parameterSchema: parameter \"name\": expected string, got number"}},
		{[]string{"hello/default", "-j", "cpu_request=1"}, ExitRejected, []string{`not run: job of hello/default: job variable "cpu_request"`}},
		{[]string{"hello/defualt"}, 1, []string{`no deployment "hello/defualt"; did you mean hello/default`}},
		{[]string{"own/image"}, 1, []string{"own/image runs its image's own command"}},
		{[]string{"hello/default", "--wait"}, 1, []string{"--local runs the flow here and now"}},
	} {
		out, errOut, code := run(t, dir, append([]string{"run", "--local"}, tc.args...)...)
		all := out + errOut
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, all)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, all)
			}
		}
	}
}

// TestRunLocalOwnCommand: a deployment whose command job variable is set
// runs that command, not the runner (here the hello file's __main__ block,
// which reads FLOWS_PARAMETERS itself).
func TestRunLocalOwnCommand(t *testing.T) {
	dir, _ := localDir(t)
	out, errOut, code := run(t, dir, "run", "--local", "own/command", "-p", "name=Zaphod", "--name", "own-1")
	if code != 0 || out != "run own-1 of own/command\nHello, Zaphod!\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestRunLocalTimeout stops a flow that runs too long.
func TestRunLocalTimeout(t *testing.T) {
	dir, _ := localDir(t)
	if err := os.WriteFile(filepath.Join(dir, "flows", "boom.py"), []byte("import time\n\ndef boom():\n    time.sleep(60)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, dir, "run", "--local", "boom/default", "--timeout", "3s")
	if code != ExitTimeout || !strings.Contains(errOut, "timed out after 3s") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
