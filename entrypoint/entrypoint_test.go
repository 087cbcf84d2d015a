package entrypoint_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/entrypoint"
)

func python(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no python3 or python on PATH: the runner cannot be tested here")
	return ""
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// run starts the runner in dir as the Job would, and returns its output and
// exit status.
func run(t *testing.T, dir, ep, params string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(python(t), "-c", entrypoint.Source)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FLOWS_ENTRYPOINT="+ep, "FLOWS_PARAMETERS="+params, "FLOWS_RUN_NAME=hello-default-x1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func example(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../examples/hello/flows/hello.py")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExampleWithAndWithoutMain: the hello example's flow runs from its
// entrypoint whether or not the file has a __main__ block, and the block
// itself does not run.
func TestExampleWithAndWithoutMain(t *testing.T) {
	src := example(t)
	i := strings.Index(src, `if __name__ == "__main__":`)
	if i < 0 {
		t.Fatal("examples/hello/flows/hello.py has no __main__ block any more; this test wants one")
	}
	for name, body := range map[string]string{"with main": src, "without main": src[:i]} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, map[string]string{"flows/hello.py": body})
			out, errOut, code := run(t, dir, "flows/hello.py:hello", `{"name":"Ford"}`)
			if code != 0 || out != "Hello, Ford!\n" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and only the flow's greeting", code, out, errOut)
			}
		})
	}
}

// TestTypedParameters: JSON values arrive as Python's own types.
func TestTypedParameters(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"flows/types.py": `
def show(count, ratio, on, items, opts, nothing, name="x"):
    for v in (count, ratio, on, items, opts, nothing, name):
        print(type(v).__name__, repr(v))
`})
	out, errOut, code := run(t, dir, "flows/types.py:show", `{"count":3,"ratio":0.5,"on":true,"items":[1,"a"],"opts":{"k":null},"nothing":null,"name":"Ford"}`)
	want := "int 3\nfloat 0.5\nbool True\nlist [1, 'a']\ndict {'k': None}\nNoneType None\nstr 'Ford'\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, errOut, out, want)
	}
}

// TestRaisingFlow: an exception exits 1 with the flow's traceback, not the
// runner's frames.
func TestRaisingFlow(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"flows/boom.py": "def boom(n):\n    print('about to fail', n)\n    raise ValueError(f'boom {n}')\n"})
	out, errOut, code := run(t, dir, "flows/boom.py:boom", `{"n":7}`)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	if out != "about to fail 7\n" {
		t.Errorf("stdout %q", out)
	}
	for _, want := range []string{"Traceback (most recent call last):", `flows/boom.py", line 3, in boom`, "ValueError: boom 7"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "<string>") {
		t.Errorf("traceback shows the runner's own frames:\n%s", errOut)
	}
}

// TestEntrypointErrors: a missing file, a missing function, a bad
// entrypoint, unknown parameters and non-object parameters are each one
// clear line and exit 1.
func TestEntrypointErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"flows/hello.py": example(t)})
	for _, tc := range []struct{ ep, params, want string }{
		{"flows/nope.py:hello", "{}", "kubectl-flows: entrypoint flows/nope.py:hello: file flows/nope.py not found in " + dir},
		{"flows/hello.py:nope", "{}", "kubectl-flows: entrypoint flows/hello.py:nope: flows/hello.py has no function 'nope' (it defines: hello)"},
		{"flows/hello.py", "{}", "kubectl-flows: entrypoint 'flows/hello.py': want path/to/file.py:function or module:function"},
		{"flows/hello.py:hello", "[1]", "kubectl-flows: FLOWS_PARAMETERS must be a JSON object"},
		{"flows/hello.py:hello", `{"nam":"x"}`, "TypeError: hello() got an unexpected keyword argument 'nam'"},
	} {
		out, errOut, code := run(t, dir, tc.ep, tc.params)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.ep, tc.params, code, out, errOut, tc.want)
		}
	}
}

// TestModulesAsyncAndDecorators: module:function entrypoints, sibling
// imports, async functions, and decorated callables (a Prefect @flow is a
// callable object called with the same keyword arguments; Prefect itself
// cannot be installed here, so a stand-in decorator of the same shape is
// used).
func TestModulesAsyncAndDecorators(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"pkg/__init__.py":    "",
		"pkg/jobs.py":        "def job(x):\n    print('job', x * 2)\n",
		"flows/helpers.py":   "def greet(n):\n    return 'hi ' + n\n",
		"flows/asyncflow.py": "import asyncio\nfrom helpers import greet\n\nasync def main(name):\n    await asyncio.sleep(0)\n    print(greet(name))\n",
		"flows/decorated.py": `
class Flow:
    def __init__(self, fn):
        self.fn = fn
        self.name = fn.__name__.replace("_", "-")
    def __call__(self, *args, **kwargs):
        print("flow", self.name, "starts")
        return self.fn(*args, **kwargs)

def flow(fn):
    return Flow(fn)

@flow
def say_hello(name: str = "world"):
    print("hello", name)
`,
	})
	for _, tc := range []struct{ ep, params, want string }{
		{"pkg.jobs:job", `{"x":21}`, "job 42\n"},
		{"flows/asyncflow.py:main", `{"name":"Ford"}`, "hi Ford\n"},
		{"flows/decorated.py:say_hello", `{"name":"Ford"}`, "flow say-hello starts\nhello Ford\n"},
	} {
		out, errOut, code := run(t, dir, tc.ep, tc.params)
		if code != 0 || out != tc.want {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", tc.ep, code, out, errOut, tc.want)
		}
	}
}

// TestCommandSplitsBackToArgs: the shell-quoted command job variable is
// the runner's argv again once a shell splits it.
func TestCommandSplitsBackToArgs(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out, err := exec.Command(sh, "-c", "set -- "+entrypoint.Command()+`; printf '%s\0' "$@"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	want := entrypoint.Args(entrypoint.Python)
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("sh split the command into %q", got)
	}
	if !entrypoint.IsRunner(got) || entrypoint.IsRunner([]string{"python", "flows/hello.py"}) {
		t.Fatal("IsRunner does not tell the runner from another command")
	}
}

// TestSourceIsStandardLibraryOnly keeps the runner dependency-free.
func TestSourceIsStandardLibraryOnly(t *testing.T) {
	allowed := map[string]bool{"asyncio": true, "importlib": true, "importlib.util": true, "inspect": true, "json": true, "os": true, "sys": true, "traceback": true}
	for _, m := range regexp.MustCompile(`(?m)^import (.*)$`).FindAllStringSubmatch(entrypoint.Source, -1) {
		for _, mod := range strings.Split(m[1], ",") {
			if mod = strings.TrimSpace(mod); !allowed[mod] {
				t.Errorf("runner imports %q, not in its standard-library list", mod)
			}
		}
	}
	if regexp.MustCompile(`(?m)^from `).MatchString(entrypoint.Source) {
		t.Error("runner uses from-imports; keep its imports on the import line")
	}
}
