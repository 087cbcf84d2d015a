package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// cliProject is a project for the day-to-day commands: a deployment that
// completes, one kwok fails, one whose pod never schedules (crashes after
// 3s), one that runs for an hour (to cancel), all on testTemplate.
const cliProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: cli
namespace: NS
pools:
  - name: main
    concurrencyLimit: 5
    baseJobTemplate: template.json
    queues:
      - name: default
        concurrencyLimit: 3
concurrencyLimits:
  - tag: e2e
    limit: 4
deployments:
  - flow: e2e
    name: ok
    entrypoint: flows/ok.py:ok
    pool: main
    tags: [e2e]
    parameters: {name: world}
    parameterSchema:
      type: object
      properties: {name: {type: string}}
  - flow: e2e
    name: fail
    entrypoint: flows/fail.py:fail
    pool: main
    jobVariables:
      pod_labels: {pod-container-running-failed.stage.kwok.x-k8s.io: "true"}
      pod_annotations: {pod-container-running-failed.stage.kwok.x-k8s.io/delay: 200ms}
  - flow: e2e
    name: crash
    entrypoint: flows/crash.py:crash
    pool: main
    jobVariables:
      node_selector: {harness.kubectl-flows.dev/no-such-node: "true"}
      pod_watch_timeout_seconds: 3
  - flow: e2e
    name: slow
    entrypoint: flows/slow.py:slow
    pool: main
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 1h}
`

// cli runs `kubectl flows ...` the way a person does: the real kubectl
// finds the plugin on PATH, in the project's directory (so the namespace
// comes from its flows.yaml).
type cli struct {
	t   *testing.T
	dir string
	env []string
}

func newCLI(t *testing.T, dir string, extraEnv ...string) *cli {
	kubectlDir := filepath.Dir(cp.KubectlPath())
	env := append(os.Environ(),
		"PATH="+binDir+string(os.PathListSeparator)+kubectlDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+cp.Kubeconfig,
		"HOME="+t.TempDir(), // no ~/.kube cache or config of the machine's user
	)
	return &cli{t: t, dir: dir, env: append(env, extraEnv...)}
}

func (c *cli) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cp.KubectlPath(), append([]string{"flows"}, args...)...)
	cmd.Dir, cmd.Env = c.dir, c.env
	return cmd
}

type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("kubectl flows %v: %v", args, err)
	}
	return r
}

// expect runs and checks the exit status and that stdout+stderr contain
// each of want.
func (c *cli) expect(code int, args []string, want ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Errorf("kubectl flows %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
		return r
	}
	for _, w := range want {
		if !strings.Contains(r.stdout+r.stderr, w) {
			c.t.Errorf("kubectl flows %s: output lacks %q\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), w, r.stdout, r.stderr)
		}
	}
	return r
}

// bgCmd is a long-running command (get -w, run --watch) that background
// started: its output so far, and its exit code once done.
type bgCmd struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	code int
}

// background starts a long-running command and returns at once.
func (c *cli) background(args ...string) *bgCmd {
	c.t.Helper()
	cmd := c.cmd(context.Background(), args...)
	b := &bgCmd{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			b.code = ee.ExitCode()
		}
		close(b.done)
	}()
	c.t.Cleanup(func() { _ = cmd.Process.Kill(); <-b.done })
	return b
}

// waitOutput waits until the command's output contains s.
func (b *bgCmd) waitOutput(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(b.out.String(), s) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %q in %v; output:\n%s", s, timeout, b.out.String())
}

func (b *bgCmd) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-b.done:
		return b.code
	case <-time.After(timeout):
		t.Fatalf("still running after %v; output:\n%s", timeout, b.out.String())
	}
	return -1
}

type syncBuffer struct {
	mu  chanMutex
	buf bytes.Buffer
}

type chanMutex struct{ ch chan struct{} }

func (m *chanMutex) lock() {
	if m.ch == nil {
		m.ch = make(chan struct{}, 1)
	}
	m.ch <- struct{}{}
}
func (m *chanMutex) unlock() { <-m.ch }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.lock()
	defer s.mu.unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.lock()
	defer s.mu.unlock()
	return s.buf.String()
}

// TestCLI drives every day-to-day command through kubectl's plugin
// discovery against a running reconciler.
func TestCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, cliProject, map[string]string{"template.json": testTemplate})
	e.startReconciler("")
	k := newCLI(t, e.dir)

	t.Run("plugin discovery and version", func(t *testing.T) {
		k.t = t
		k.expect(0, []string{"version"}, "kubectl-flows ", "reconciler    not installed in namespace "+e.ns)
		r := k.expect(0, []string{"version", "--client", "-o", "json"})
		var v struct {
			ClientVersion struct{ Version string } `json:"clientVersion"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.ClientVersion.Version == "" {
			t.Errorf("version -o json: %v %s", err, r.stdout)
		}
	})

	t.Run("run --wait exit codes", func(t *testing.T) {
		k.t = t
		for _, tc := range []struct {
			deployment string
			code       int
			want       string
		}{
			{"e2e/ok", 0, "Completed"},
			{"e2e/fail", 2, "Failed after"},
			{"e2e/crash", 3, "Crashed: Unschedulable"},
		} {
			r := k.expect(tc.code, []string{"run", tc.deployment, "--wait", "--timeout", "90s"}, tc.want)
			if tc.code == 2 && !strings.Contains(r.stderr, "BackoffLimitExceeded") || tc.code == 3 && !strings.Contains(r.stderr, "Unschedulable") {
				t.Errorf("run %s: the error lacks the reason: %s", tc.deployment, r.stderr)
			}
			t.Logf("run %s --wait: exit %d in %v", tc.deployment, r.code, r.took.Round(10*time.Millisecond))
		}
		// Rejected: caught before submitting, or (with --validate=false) by
		// the reconciler; 5 either way.
		k.expect(5, []string{"run", "e2e/ok", "-p", "name=3", "--wait"}, "not submitted", `parameter "name": expected string`)
		k.expect(5, []string{"run", "e2e/ok", "-p", "name=3", "--validate=false", "--wait", "--timeout", "60s"}, "Rejected: InvalidParameters")
		// Timeout: 6, and the run goes on.
		k.expect(6, []string{"run", "e2e/slow", "--name", "slow-timeout", "--wait", "--timeout", "2s"}, "timed out after 2s")
		k.expect(0, []string{"cancel", "slow-timeout"}, "cancel requested")
	})

	t.Run("run --watch and cancel", func(t *testing.T) {
		k.t = t
		w := k.background("run", "e2e/slow", "--name", "slow-1", "--watch", "--timeout", "90s")
		// Up to a minute: on a saturated API server a progress state is
		// written once it has lasted 30 s (--status-write-max-latency).
		w.waitOutput(t, "Running", time.Minute)
		start := time.Now()
		k.expect(0, []string{"cancel", "slow-1"}, "run slow-1 cancel requested")
		if code := w.wait(t, 30*time.Second); code != 4 {
			t.Errorf("run --watch of a cancelled run: exit %d, want 4\n%s", code, w.out.String())
		}
		t.Logf("cancel to Cancelled: %v", time.Since(start).Round(10*time.Millisecond))
		// Pending is batched away when the pod starts within the
		// reconciler's status batch period (1 s), as it does on kwok.
		for _, s := range []string{"Scheduled", "Running", "Cancelling", "Cancelled", "was deleted"} {
			if !strings.Contains(w.out.String(), s) {
				t.Errorf("--watch output lacks %s:\n%s", s, w.out.String())
			}
		}
		k.expect(1, []string{"cancel", "slow-1"}, "already ended Cancelled")
	})

	t.Run("get", func(t *testing.T) {
		k.t = t
		r := k.expect(0, []string{"get", "runs", "-o", "json"})
		var list struct {
			Kind  string
			Items []struct {
				Kind     string
				Metadata struct{ Name string }
				Spec     struct{ Deployment string }
				Status   struct {
					State, Reason, Queue string
				}
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("get runs -o json does not parse: %v\n%s", err, r.stdout)
		}
		states := map[string]int{}
		for _, it := range list.Items {
			if it.Kind != "Run" || it.Spec.Deployment == "" {
				t.Errorf("item %+v", it)
			}
			states[it.Status.State]++
		}
		for _, s := range []string{"Completed", "Failed", "Crashed", "Rejected", "Cancelled"} {
			if states[s] == 0 {
				t.Errorf("no %s run in get runs -o json: %v", s, states)
			}
		}
		k.expect(0, []string{"get", "runs"}, "NAME", "DEPLOYMENT", "STATE", "e2e/ok", "Completed", "main/default")
		k.expect(0, []string{"get", "runs", "-l", "kubectl-flows.dev/state=Failed", "-o", "name"}, "run.kubectl-flows.dev/e2e-fail-")
		k.expect(0, []string{"get", "deployments"}, "e2e/ok", "e2e/slow", "Crashed (", "Failed (")
		k.expect(0, []string{"get", "pools"}, "main", "0/5")
		k.expect(0, []string{"get", "queues"}, "main/default", "0/3")
		k.expect(0, []string{"get", "limits"}, "e2e", "0/4")
		k.expect(1, []string{"get", "deployment", "e2e/okk"}, `did you mean e2e/ok`)
	})

	t.Run("get -w", func(t *testing.T) {
		k.t = t
		w := k.background("get", "queues", "-w")
		w.waitOutput(t, "main/default", 20*time.Second)
		k.expect(0, []string{"run", "e2e/slow", "--name", "slow-2"})
		w.waitOutput(t, "1/3", 30*time.Second)
		k.expect(0, []string{"cancel", "slow-2", "--wait"}, "run slow-2 cancelled")
		_ = w.cmd.Process.Signal(os.Interrupt)
		w.wait(t, 10*time.Second)
	})

	t.Run("describe", func(t *testing.T) {
		k.t = t
		r := k.run("get", "runs", "-l", "kubectl-flows.dev/state=Crashed", "-o", "name")
		name := strings.TrimPrefix(strings.Fields(r.stdout)[0], "run.kubectl-flows.dev/")
		k.expect(0, []string{"describe", "run", name}, "State:", "Crashed", "Unschedulable", "pod_watch_timeout_seconds", "Events:", "Crashed")
		r = k.run("get", "runs", "-l", "kubectl-flows.dev/state=Completed", "-o", "name")
		name = strings.TrimPrefix(strings.Fields(r.stdout)[0], "run.kubectl-flows.dev/")
		k.expect(0, []string{"describe", "run", name}, "Completed", "Job:", "succeeded 1", "Pods:", "Succeeded", "Pool:", "Queue:")
		k.expect(0, []string{"describe", "deployment", "e2e/ok"}, "Entrypoint:", "flows/ok.py:ok", "Recent Runs:")
		k.expect(0, []string{"describe", "pool", "main"}, "Concurrency Limit:", "Queues:", "e2e/crash")
	})

	t.Run("pause and resume", func(t *testing.T) {
		k.t = t
		k.expect(0, []string{"pause", "deployment", "e2e/ok"}, "paused")
		k.expect(0, []string{"get", "deployments", "e2e/ok"}, "paused (kubectl)")
		r := k.expect(0, []string{"run", "e2e/ok"})
		name := strings.TrimSpace(r.stdout)
		deadline := time.Now().Add(20 * time.Second)
		for {
			r = k.run("get", "run", name, "-o", "jsonpath={.status.state}/{.status.reason}")
			if r.stdout == "Scheduled/Paused" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("paused run is %q", r.stdout)
			}
			time.Sleep(200 * time.Millisecond)
		}
		k.expect(0, []string{"resume", "deployment", "e2e/ok"}, "resumed")
		w := k.background("run", "e2e/ok", "--wait", "--timeout", "60s")
		if code := w.wait(t, 70*time.Second); code != 0 {
			t.Errorf("run after resume: exit %d\n%s", code, w.out.String())
		}
		k.expect(0, []string{"pause", "queue", "main/default"}, "queue main/default paused")
		k.expect(0, []string{"get", "queues"}, "paused (kubectl)")
		k.expect(0, []string{"resume", "queue", "main/default"}, "resumed")
	})

	t.Run("logs", func(t *testing.T) {
		k.t = t
		r := k.run("get", "runs", "-l", "kubectl-flows.dev/state=Completed", "-o", "name")
		name := strings.TrimPrefix(strings.Fields(r.stdout)[0], "run.kubectl-flows.dev/")
		// kwok runs no containers and its fake nodes serve no kubelet API
		// here: the API server answers 404 for pods/log, and logs says so,
		// naming the pod and node (the documented limit of logs on kwok).
		r = k.run("logs", name, "--tail", "5")
		t.Logf("logs of a completed run on kwok: exit %d in %v: %s%s", r.code, r.took.Round(10*time.Millisecond), r.stdout, r.stderr)
		if r.code == 0 {
			t.Logf("kwok served a log: %q", r.stdout)
		} else if !strings.Contains(r.stderr, "cannot read the log of pod "+name) || !strings.Contains(r.stderr, "kwok-node-") || !strings.Contains(r.stderr, "serves no logs") {
			t.Errorf("logs error does not name the pod and node: %s", r.stderr)
		}
		k.expect(1, []string{"logs", "no-such-run"}, `run "no-such-run" not found`)
		r = k.run("get", "runs", "-l", "kubectl-flows.dev/state=Crashed", "-o", "name")
		crashed := strings.TrimPrefix(strings.Fields(r.stdout)[0], "run.kubectl-flows.dev/")
		k.expect(1, []string{"logs", crashed}, "Crashed", "Unschedulable")
	})

	t.Run("completion", func(t *testing.T) {
		k.t = t
		// kubectl runs kubectl_complete-flows from PATH for `kubectl flows <TAB>`.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cp.KubectlPath(), "__complete", "flows", "run", "e2e/")
		cmd.Dir, cmd.Env = k.dir, k.env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl __complete: %v", err)
		}
		for _, d := range []string{"e2e/ok", "e2e/fail", "e2e/crash", "e2e/slow", ":4"} {
			if !strings.Contains(string(out), d) {
				t.Errorf("kubectl __complete flows run e2e/: lacks %s:\n%s", d, out)
			}
		}
		cmd = exec.CommandContext(ctx, cp.KubectlPath(), "__complete", "flows", "cancel", "")
		cmd.Dir, cmd.Env = k.dir, k.env
		out, _ = cmd.Output()
		if strings.Contains(string(out), "slow-1") {
			t.Errorf("cancel completes a finished run:\n%s", out)
		}
		k.expect(0, []string{"completion", "bash"}, "__start_kubectl-flows")
		k.expect(0, []string{"completion", "zsh"}, "#compdef kubectl-flows")
		k.expect(0, []string{"completion", "fish"}, "complete -c kubectl-flows")
	})

	t.Run("diff", func(t *testing.T) {
		k.t = t
		// Only the ConfigMaps are installed: the namespace exists, the
		// reconciler's RBAC and Deployment would be created.
		k.expect(1, []string{"diff", "--ext-str", "gitSha=e2e"}, "+++ rendered/ServiceAccount/"+e.ns+"/flows-reconciler", "+++ rendered/Deployment/"+e.ns+"/flows-reconciler")
		k.expect(0, []string{"render", "--ext-str", "gitSha=e2e"})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The reconciler Deployment's pods would only be kwok's fakes; keep it at 0.
		if out, err := cp.Kubectl(ctx, "apply", "--server-side", "--field-manager=kubectl-flows", "-k", filepath.Join(e.dir, "deploy")).CombinedOutput(); err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		if out, err := cp.Kubectl(ctx, "-n", e.ns, "scale", "deployment/flows-reconciler", "--replicas=0").CombinedOutput(); err != nil {
			t.Fatalf("scale: %v\n%s", err, out)
		}
		r := k.run("diff", "--ext-str", "gitSha=e2e")
		// The scale shows as drift of replicas, and nothing else does.
		if r.code != 1 || !strings.Contains(r.stdout, "-  replicas: 0") || strings.Count(r.stdout, "+++ ") != 1 {
			t.Errorf("diff after apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if out, err := cp.Kubectl(ctx, "-n", e.ns, "scale", "deployment/flows-reconciler", "--replicas=2").CombinedOutput(); err != nil {
			t.Fatalf("scale: %v\n%s", err, out)
		}
		k.expect(0, []string{"diff", "--ext-str", "gitSha=e2e"}, "no differences")
		// The reconciler's version is its image's tag: the plugin's own
		// version as render set it ("latest" for a dirty or dev build).
		k.expect(0, []string{"version"}, "reconciler ", "(ghcr.io/kubectl-flows/flows-reconciler:", "2/2 ready")
		// A change to the project shows, and a removed deployment shows as removed.
		flows, err := os.ReadFile(filepath.Join(e.dir, "flows.yaml"))
		must(t, err)
		changed := strings.Replace(string(flows), "parameters: {name: world}", "parameters: {name: moon}", 1)
		changed = changed[:strings.Index(changed, "  - flow: e2e\n    name: slow")]
		must(t, os.WriteFile(filepath.Join(e.dir, "flows-changed.yaml"), []byte(changed), 0o644))
		k.expect(1, []string{"diff", "-f", "flows-changed.yaml", "--ext-str", "gitSha=e2e"},
			"-      name: world", "+      name: moon", "--- live/ConfigMap/"+e.ns+"/flows-deployment-e2e-slow")
		k.expect(2, []string{"diff", "-f", "missing.yaml"}, "missing.yaml")
		_ = cp.Kubectl(ctx, "-n", e.ns, "scale", "deployment/flows-reconciler", "--replicas=0").Run()
	})

	t.Run("errors a person understands", func(t *testing.T) {
		k.t = t
		k.expect(1, []string{"run", "e2e/okk"}, `deployment "e2e/okk" not found`, "did you mean e2e/ok")
		k.expect(1, []string{"-n", "default", "get", "runs"}, `no kubectl-flows project is installed in namespace "default"`, "projects are installed in:", e.ns)
		ctx := context.Background()
		kc, err := cp.KubeconfigForUser("nobody", nil)
		must(t, err)
		k.expect(1, []string{"--kubeconfig", kc, "get", "runs"}, "forbidden: you may not list configmaps in namespace "+fmt.Sprintf("%q", e.ns))
		unreachable := filepath.Join(t.TempDir(), "kubeconfig")
		must(t, os.WriteFile(unreachable, []byte(strings.ReplaceAll(mustRead(t, cp.Kubeconfig), cp.Config.Host, "https://127.0.0.1:1")), 0o600))
		k.expect(1, []string{"--kubeconfig", unreachable, "get", "runs"}, "cannot reach the Kubernetes API server at https://127.0.0.1:1", "connection refused")
		_ = ctx
	})
	_ = harness.ContextName
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}
