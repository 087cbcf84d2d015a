package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/internal/markdown"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// quickStart returns the commands of the README's quick start: the first
// shell block under its "## Quick start" heading.
func quickStart(t *testing.T) []markdown.Command {
	t.Helper()
	root, err := harness.RepoRoot()
	must(t, err)
	readme := mustRead(t, filepath.Join(root, "README.md"))
	i := strings.Index(readme, "\n## Quick start\n")
	if i < 0 {
		t.Fatal(`README.md has no "## Quick start" section`)
	}
	heading := strings.Count(readme[:i+1], "\n") + 1
	for _, b := range markdown.Blocks(readme) {
		if b.Line > heading && b.Shell() {
			return markdown.Commands(b)
		}
	}
	t.Fatal("README.md's quick start shows no shell block")
	return nil
}

var configDigest = regexp.MustCompile(`--config-digest=(sha256:[0-9a-f]+)`)

// TestReadmeQuickStart runs the README's quick start on the local control
// plane, each line as written, in order: init, render, apply, run --wait,
// get, dashboard --open. The test stands in for what a real cluster has and
// this one has not, and nothing else: after init it sets the project's
// namespace to its own (the tests share one control plane); after apply it
// runs the real flows-reconciler out of cluster, with the applied
// ServiceAccount's credentials and the applied Deployment's
// --config-digest, as kwok runs no container for that Deployment; and the
// xdg-open that --open calls is first on PATH and records the address.
// A line the test does not know how to run fails it, so the quick start
// cannot grow a step no test runs.
func TestReadmeQuickStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	browser := t.TempDir()
	q := &quickStartRun{t: t, ns: cp.NewNamespace(t), opened: filepath.Join(browser, "opened")}
	must(t, os.WriteFile(filepath.Join(browser, "xdg-open"), []byte("#!/bin/sh\necho \"$1\" >"+q.opened+"\n"), 0o755))
	kubectlDir := filepath.Dir(cp.KubectlPath())
	q.k = newCLI(t, t.TempDir(), "PATH="+strings.Join([]string{browser, binDir, kubectlDir, os.Getenv("PATH")}, string(os.PathListSeparator)))

	done := map[string]bool{}
	for _, c := range quickStart(t) {
		line := strings.Join(c.Args, " ")
		t.Logf("README.md:%d: %s", c.Line, line)
		switch {
		case c.Args[0] == "cd" && len(c.Args) == 2:
			q.k.dir = filepath.Join(q.k.dir, c.Args[1])
		case len(c.Args) > 2 && c.Args[0] == "kubectl" && c.Args[1] == "flows":
			q.flows(c.Args[2:])
			done[c.Args[2]] = true
		case len(c.Args) > 1 && c.Args[0] == "kubectl" && c.Args[1] == "apply":
			cmd := cp.Kubectl(ctx, c.Args[1:]...)
			cmd.Dir = q.k.dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			q.startReconciler(ctx)
			done["apply"] = true
		default:
			t.Fatalf("README.md:%d: the quick start shows %q, which this test does not know how to run: teach it", c.Line, line)
		}
	}
	for _, step := range []string{"init", "render", "apply", "run", "get", "dashboard"} {
		if !done[step] {
			t.Errorf("the quick start no longer has its %s step", step)
		}
	}
}

// quickStartRun is the state the quick start's lines share.
type quickStartRun struct {
	t      *testing.T
	k      *cli
	ns     string
	opened string // where the stand-in xdg-open writes the address it was given
}

// flows runs one `kubectl flows` line of the quick start and checks what
// it says.
func (q *quickStartRun) flows(args []string) {
	q.t.Helper()
	switch args[0] {
	case "dashboard":
		q.dashboard(args)
	case "get":
		q.k.expect(0, args, "hello/default", "Completed")
	case "init":
		q.k.expect(0, args)
		dir := q.k.dir
		if len(args) > 1 {
			dir = filepath.Join(dir, args[1])
		}
		file := filepath.Join(dir, "flows.yaml")
		flows := mustRead(q.t, file)
		if !strings.Contains(flows, "\nnamespace: flows\n") {
			q.t.Fatalf("init wrote no namespace: flows into %s", file)
		}
		must(q.t, os.WriteFile(file, []byte(strings.Replace(flows, "\nnamespace: flows\n", "\nnamespace: "+q.ns+"\n", 1)), 0o644))
	default:
		q.k.expect(0, args)
	}
}

// startReconciler runs flows-reconciler out of cluster as the applied
// Deployment would run it: as its ServiceAccount, with its --config-digest.
func (q *quickStartRun) startReconciler(ctx context.Context) {
	q.t.Helper()
	m := configDigest.FindStringSubmatch(mustRead(q.t, filepath.Join(q.k.dir, "deploy", "reconciler.yaml")))
	if m == nil {
		q.t.Fatal("the rendered reconciler.yaml has no --config-digest")
	}
	kc, err := cp.KubeconfigForServiceAccount(ctx, q.ns, "flows-reconciler")
	must(q.t, err)
	e := &env{t: q.t, ns: q.ns, dir: q.t.TempDir(), out: &render.Output{ConfigDigest: m[1]}}
	e.startReconciler(kc)
}

// dashboard starts the dashboard line, checks that it opened the browser
// on its address and serves the run the quick start made there, and stops
// it as Ctrl-C would.
func (q *quickStartRun) dashboard(args []string) {
	t := q.t
	t.Helper()
	d := q.k.background(args...)
	d.waitOutput(t, "http://", 30*time.Second)
	url := regexp.MustCompile(`http://\S+`).FindString(d.out.String())
	err := harness.WaitFor(context.Background(), 10*time.Second, func(context.Context) (bool, error) {
		b, err := os.ReadFile(q.opened)
		return err == nil && strings.TrimSpace(string(b)) == url, nil
	})
	if err != nil {
		t.Errorf("--open did not open the browser on %s: %v", url, err)
	}
	resp, err := http.Get(url)
	must(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "hello/default") {
		t.Errorf("GET %s: %s, and the page does not show hello/default:\n%s", url, resp.Status, body)
	}
	must(t, d.cmd.Process.Signal(os.Interrupt))
	if code := d.wait(t, 10*time.Second); code != 0 {
		t.Errorf("dashboard after Ctrl-C: exit %d\n%s", code, d.out.String())
	}
}
