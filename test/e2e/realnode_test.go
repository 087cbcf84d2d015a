package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/image"
	"github.com/kubectl-flows/kubectl-flows/internal/gobuild"
	"github.com/kubectl-flows/kubectl-flows/plugin"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// The tests in this file install kubectl-flows on a control plane with a
// real node (test/harness: a kubelet and containerd running real
// containers) as a user installs it: `kubectl flows render`, then
// `kubectl apply -k deploy/`, with the reconciler running in the cluster
// from the image built from this checkout, and flows running in Debian's
// Python. They share one such control plane, started by the first of them
// (the package's own, kwok's, runs no container).

// realCluster is that control plane and what its node was given.
type realCluster struct {
	cp *harness.ControlPlane
	// version is the plugin's, as `kubectl flows version --client` says:
	// the reconciler image is imported under image.ReconcilerRef(version),
	// the name its render gives.
	version string
	// hello is the hello example's flow image (image.HelloFlowRef), with
	// the plugin built from this checkout in it.
	hello   v1.Image
	created time.Time
	dir     string // image archives
}

var realNode struct {
	once sync.Once
	rc   *realCluster
	err  error
}

// useRealCluster skips (or, with CI=true, fails) the test where no real
// node can start, and returns the shared real cluster, starting it first.
func useRealCluster(t *testing.T) *realCluster {
	t.Helper()
	harness.RequireRealNode(t)
	realNode.once.Do(func() { realNode.rc, realNode.err = startRealCluster() })
	if realNode.err != nil {
		t.Fatal(realNode.err)
	}
	return realNode.rc
}

// stopRealCluster stops the shared real cluster, if a test started it.
func stopRealCluster() {
	if rc := realNode.rc; rc != nil {
		if err := rc.cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping the real-node control plane:", err)
		}
		os.RemoveAll(rc.dir)
	}
}

// startRealCluster starts the control plane with a real node while it
// builds the images a rendered install runs, then imports them.
func startRealCluster() (*realCluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	t0 := time.Now()
	rc := &realCluster{}
	var err error
	if rc.version, err = pluginVersion(ctx); err != nil {
		return nil, err
	}
	if rc.dir, err = os.MkdirTemp("", "kubectl-flows-e2e-images-"); err != nil {
		return nil, err
	}
	var cpErr error
	started := make(chan struct{})
	go func() {
		defer close(started)
		rc.cp, cpErr = harness.Start(ctx, harness.Options{RealNode: true})
	}()
	archives, buildErr := rc.buildImages(ctx)
	tBuild := time.Since(t0)
	<-started
	if cpErr != nil {
		os.RemoveAll(rc.dir)
		return nil, cpErr
	}
	if buildErr == nil {
		buildErr = rc.cp.ImportImages(ctx, archives...)
	}
	if buildErr != nil {
		_ = rc.cp.Stop()
		os.RemoveAll(rc.dir)
		return nil, buildErr
	}
	fmt.Fprintf(os.Stderr, "e2e: real-node control plane ready in %v (control plane %v, images built in %v), reconciler image %s\n",
		time.Since(t0).Round(100*time.Millisecond), rc.cp.StartupTime.Round(100*time.Millisecond), tBuild.Round(100*time.Millisecond), image.ReconcilerRef(rc.version))
	return rc, nil
}

// pluginVersion is the version of the kubectl-flows under test.
func pluginVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "kubectl-flows"), "version", "--client", "-o", "json").Output()
	if err != nil {
		return "", fmt.Errorf("kubectl-flows version --client: %w", err)
	}
	var v plugin.VersionInfo
	if err := json.Unmarshal(out, &v); err != nil || v.Client.Version == "" {
		return "", fmt.Errorf("kubectl-flows version --client -o json printed %q: %v", out, err)
	}
	return v.Client.Version, nil
}

// buildImages builds, from this checkout and at the plugin's version, the
// reconciler's image and the hello example's flow image, and writes them
// as archives for the node.
func (rc *realCluster) buildImages(ctx context.Context) ([]string, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	if rc.created, err = image.Epoch(ctx, root); err != nil {
		return nil, err
	}
	bin, err := image.ReconcilerBinary(ctx, root, rc.version, runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	rec, err := image.Reconciler(bin, rc.version, runtime.GOARCH, rc.created)
	if err != nil {
		return nil, err
	}
	pluginBin, err := gobuild.Build(ctx, gobuild.Options{Dir: root, Package: gobuild.Module + "/cmd/kubectl-flows", Version: rc.version, GOOS: "linux", GOARCH: runtime.GOARCH})
	if err != nil {
		return nil, err
	}
	rc.hello, err = image.PythonFlow(ctx, image.FlowOptions{Flows: filepath.Join(root, "examples", "hello", "flows"), Plugin: pluginBin, Created: rc.created})
	if err != nil {
		return nil, err
	}
	recTar, helloTar := filepath.Join(rc.dir, "reconciler.tar"), filepath.Join(rc.dir, "hello-flow.tar")
	if err := image.WriteArchive(recTar, rec, image.ReconcilerRef(rc.version), rc.created); err != nil {
		return nil, err
	}
	if err := image.WriteArchive(helloTar, rc.hello, image.HelloFlowRef, rc.created); err != nil {
		return nil, err
	}
	return []string{recTar, helloTar}, nil
}

// importFlows imports, under ref, the hello flow image with files (path
// under /app/flows: contents) added, as a project's Dockerfile would COPY
// its flows/ over the same base.
func (rc *realCluster) importFlows(t *testing.T, ctx context.Context, ref string, files map[string]string) {
	t.Helper()
	var fs []image.File
	for name, data := range files {
		fs = append(fs, image.Regular("app/flows/"+name, 0o644, []byte(data)))
	}
	layer, err := image.Layer(fs, rc.created)
	must(t, err)
	img, err := mutate.AppendLayers(rc.hello, layer)
	must(t, err)
	path := filepath.Join(t.TempDir(), "flows.tar")
	must(t, image.WriteArchive(path, img, ref, rc.created))
	must(t, rc.cp.ImportImages(ctx, path))
}

// cli is `kubectl flows` as a user runs it against the real cluster, in
// the project directory dir.
func (rc *realCluster) cli(t *testing.T, dir string) *cli {
	return newCLI(t, dir, "KUBECONFIG="+rc.cp.Kubeconfig)
}

// kubectl runs kubectl as the cluster's admin in dir and fails the test
// on an error.
func (rc *realCluster) kubectl(t *testing.T, ctx context.Context, dir string, args ...string) string {
	t.Helper()
	cmd := rc.cp.Kubectl(ctx, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// realProject copies the project in src (a directory) to a temporary
// directory, sets its namespace to ns and returns the copy's path.
func realProject(t *testing.T, src, ns string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), filepath.Base(src))
	must(t, os.CopyFS(dir, os.DirFS(src)))
	must(t, os.RemoveAll(filepath.Join(dir, "deploy")))
	file := filepath.Join(dir, "flows.yaml")
	flows := mustRead(t, file)
	if !strings.Contains(flows, "\nnamespace: flows\n") {
		t.Fatalf("%s has no namespace: flows", file)
	}
	must(t, os.WriteFile(file, []byte(strings.Replace(flows, "\nnamespace: flows\n", "\nnamespace: "+ns+"\n", 1)), 0o644))
	return dir
}

// install applies a rendered project as a user would, `kubectl apply -k
// deploy/`, and waits until the reconciler Deployment's replicas are all
// Ready; it returns their pods. When the test fails, what the namespace's
// pods and the reconcilers said is logged.
func (rc *realCluster) install(t *testing.T, ctx context.Context, dir, ns string, replicas int32) []corev1.Pod {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			rc.dump(t, ns)
		}
	})
	t0 := time.Now()
	rc.kubectl(t, ctx, dir, "apply", "-k", "deploy/")
	pods := rc.waitReconcilers(t, ctx, ns, replicas, "")
	t.Logf("%s: applied; %d reconciler replicas Ready %v later", ns, replicas, time.Since(t0).Round(100*time.Millisecond))
	return pods
}

// waitReconcilers waits until the reconciler Deployment has replicas
// Ready pods, none of them gone (not named gone), and returns them.
func (rc *realCluster) waitReconcilers(t *testing.T, ctx context.Context, ns string, replicas int32, gone string) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := rc.cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=flows-reconciler"})
		if err != nil {
			return false, err
		}
		pods = nil
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Name != gone && podReady(&p) {
				pods = append(pods, p)
			}
		}
		return len(pods) == int(replicas) && len(list.Items) == int(replicas), nil
	})
	if err != nil {
		t.Fatalf("%s: %d reconciler pods Ready, want %d: %v", ns, len(pods), replicas, err)
	}
	return pods
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// dump logs the namespace's pods and the reconcilers' logs.
func (rc *realCluster) dump(t *testing.T, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"-n", ns, "get", "pods,jobs,deployments", "-o", "wide"},
		{"-n", ns, "describe", "pods", "-l", "app.kubernetes.io/name=flows-reconciler"},
		{"-n", ns, "logs", "-l", "app.kubernetes.io/name=flows-reconciler", "--prefix", "--tail", "40"},
	} {
		out, _ := rc.cp.Kubectl(ctx, args...).CombinedOutput()
		t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
	}
}

// leader is the reconciler pod holding the leader Lease, whose holder is
// HOSTNAME_PID and a pod's hostname its name.
func (rc *realCluster) leader(ctx context.Context, ns string) (string, error) {
	l, err := rc.cp.Client.CoordinationV1().Leases(ns).Get(ctx, "flows-reconciler", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if l.Spec.HolderIdentity == nil {
		return "", nil
	}
	pod, _, _ := strings.Cut(*l.Spec.HolderIdentity, "_")
	return pod, nil
}

// waitLeader waits until a pod other than not holds the Lease.
func (rc *realCluster) waitLeader(t *testing.T, ctx context.Context, ns, not string) string {
	t.Helper()
	var holder string
	err := harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		var err error
		holder, err = rc.leader(ctx, ns)
		return err == nil && holder != "" && holder != not, nil
	})
	if err != nil {
		t.Fatalf("%s: the leader Lease is held by %q, want a reconciler other than %q: %v", ns, holder, not, err)
	}
	return holder
}

// TestRealNodeHello installs the hello example as its README says, with
// the reconciler in the cluster: two replicas Ready from the image built
// here, one leader, Pod Security restricted enforced on the namespace;
// `run --wait` of hello/default Completes in a real container and `logs`
// prints what its Python printed; killing the leader's pod hands the
// Lease to the other replica, which runs the next run.
func TestRealNodeHello(t *testing.T) {
	rc := useRealCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := harness.RepoRoot()
	must(t, err)
	const ns = "hello"
	dir := realProject(t, filepath.Join(root, "examples", "hello"), ns)
	k := rc.cli(t, dir)
	k.expect(0, []string{"render", "--ext-str", "gitSha=demo"})
	recYAML := mustRead(t, filepath.Join(dir, "deploy", "reconciler.yaml"))
	if want := "image: " + image.ReconcilerRef(rc.version) + "\n"; !strings.Contains(recYAML, want) {
		t.Fatalf("the rendered reconciler.yaml does not name %q:\n%s", want, recYAML)
	}
	pods := rc.install(t, ctx, dir, ns, 2)

	t.Run("the reconciler runs in the cluster", func(t *testing.T) {
		for _, p := range pods {
			if p.Spec.NodeName != rc.cp.RealNode.Name || p.Spec.Containers[0].Image != image.ReconcilerRef(rc.version) {
				t.Errorf("reconciler pod %s runs %s on node %q, want %s on %s", p.Name, p.Spec.Containers[0].Image, p.Spec.NodeName, image.ReconcilerRef(rc.version), rc.cp.RealNode.Name)
			}
			// What its readiness probe asks, through the API server's
			// proxy to the pod, as `kubectl get --raw` would.
			body, err := rc.cp.Client.CoreV1().Pods(ns).ProxyGet("http", p.Name, "8081", "/readyz", nil).DoRaw(ctx)
			if err != nil || strings.TrimSpace(string(body)) != "ok" {
				t.Errorf("%s /readyz: %q, %v; want ok", p.Name, body, err)
			}
		}
		leader := rc.waitLeader(t, ctx, ns, "")
		if leader != pods[0].Name && leader != pods[1].Name {
			t.Errorf("the Lease is held by %q, not a reconciler pod (%s, %s)", leader, pods[0].Name, pods[1].Name)
		}
		k.expect(0, []string{"version"}, "2/2 ready", "leader "+leader)
	})

	t.Run("Pod Security restricted is enforced", func(t *testing.T) {
		nsObj, err := rc.cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		must(t, err)
		if got := nsObj.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
			t.Errorf("namespace %s: pod-security.kubernetes.io/enforce=%q, want restricted", ns, got)
		}
		root := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "as-root"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main", Image: harness.BusyboxImage, Command: []string{"id"},
				SecurityContext: &corev1.SecurityContext{RunAsUser: new(int64(0))},
			}}},
		}
		_, err = rc.cp.Client.CoreV1().Pods(ns).Create(ctx, root, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "restricted`) {
			t.Errorf("a root pod in %s: %v, want refused by PodSecurity restricted", ns, err)
		}
	})

	t.Run("hello runs in a real container", func(t *testing.T) {
		t0 := time.Now()
		k.expect(0, []string{"run", "hello/default", "--name", "hello-1", "--wait", "--timeout", "2m"}, "run hello-1 Completed")
		t.Logf("run hello/default --wait: Completed in %v", time.Since(t0).Round(100*time.Millisecond))
		r := k.expect(0, []string{"logs", "hello-1"})
		if r.stdout != "Hello, world!\n" {
			t.Errorf("kubectl flows logs hello-1: %q, want %q", r.stdout, "Hello, world!\n")
		}
		k.expect(0, []string{"run", "hello/default", "-p", "name=Ford", "--name", "hello-ford", "--wait", "--timeout", "2m"})
		k.expect(0, []string{"logs", "hello-ford"}, "Hello, Ford!")
		jobPods, err := rc.cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunName + "=hello-1"})
		must(t, err)
		if len(jobPods.Items) != 1 || jobPods.Items[0].Spec.NodeName != rc.cp.RealNode.Name || jobPods.Items[0].Status.Phase != corev1.PodSucceeded {
			t.Errorf("hello-1's pods: %d; want one, Succeeded on %s", len(jobPods.Items), rc.cp.RealNode.Name)
		}
	})

	t.Run("killing the leader hands over", func(t *testing.T) {
		old := rc.waitLeader(t, ctx, ns, "")
		t0 := time.Now()
		// kubectl delete pod --grace-period=0 --force
		must(t, rc.cp.Client.CoreV1().Pods(ns).Delete(ctx, old, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}))
		leader := rc.waitLeader(t, ctx, ns, old)
		t.Logf("leader %s killed; %s leads %v later", old, leader, time.Since(t0).Round(100*time.Millisecond))
		k.expect(0, []string{"run", "hello/default", "--name", "hello-2", "--wait", "--timeout", "2m"}, "run hello-2 Completed")
		k.expect(0, []string{"logs", "hello-2"}, "Hello, world!")
		rc.waitReconcilers(t, ctx, ns, 2, old)
		t.Logf("the Deployment has 2 Ready replicas again %v after the kill", time.Since(t0).Round(100*time.Millisecond))
	})
}

// realFlowsImage is the image of realFlowsProject's flows: the hello flow
// image with realFlows added.
const realFlowsImage = "localhost/kubectl-flows/e2e-flows:realnode"

// realFlowsProject runs the flows of realFlows on the default base job
// template, with one reconciler replica.
const realFlowsProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: realflows
namespace: flows
reconciler: {replicas: 1}
pools:
  - name: node
deployments:
  - {flow: boom, name: raises, entrypoint: flows/boom.py:boom, image: ` + realFlowsImage + `, pool: node}
  - {flow: boom, name: unknown, entrypoint: flows/boom.py:nope, image: ` + realFlowsImage + `, pool: node}
  - {flow: ticker, name: default, entrypoint: flows/ticker.py:tick, image: ` + realFlowsImage + `, pool: node}
  - flow: hog
    name: default
    entrypoint: flows/hog.py:hog
    image: ` + realFlowsImage + `
    pool: node
    jobVariables: {memory_request: 64Mi, memory_limit: 64Mi}
  - flow: parent
    name: default
    entrypoint: flows/parent.py:parent
    image: ` + realFlowsImage + `
    pool: node
    starts: [child/default]
  - {flow: child, name: default, entrypoint: flows/child.py:child, image: ` + realFlowsImage + `, pool: node}
`

// realFlows are the flows of realFlowsProject.
var realFlows = map[string]string{
	"boom.py": `def boom(answer: int = 41):
    print("computing the answer", flush=True)
    check(answer)


def check(answer):
    if answer != 42:
        raise ValueError(f"the answer is not {answer}")
`,
	// tick prints a line every half second until it is stopped; SIGTERM
	// says so and exits as a process stopped by it does. The handler only
	// notes the signal: Python runs it between any two steps of the main
	// code, a print's write among them, and a print from the handler then
	// fails ("reentrant call inside BufferedWriter").
	"ticker.py": `import signal, sys, time


def tick(count: int = 600):
    stopped = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(signum))
    for i in range(count):
        if stopped:
            break
        print(f"tick {i}", flush=True)
        time.sleep(0.5)
    if stopped:
        print("got SIGTERM, stopping", flush=True)
        sys.exit(143)
`,
	// hog fills more memory than its limit: the kernel kills it.
	"hog.py": `def hog(mib: int = 512):
    print(f"allocating {mib} MiB", flush=True)
    block = b"x" * (mib << 20)
    print(f"allocated {len(block)} bytes", flush=True)
`,
	// parent starts a run of child with the plugin in the image, from its
	// own pod, with its ServiceAccount's token (in-cluster config).
	"parent.py": `import subprocess, sys


def parent(child: str = "child/default"):
    r = subprocess.run(["kubectl-flows", "run", child, "--wait", "--timeout", "90s"], capture_output=True, text=True)
    print(r.stdout + r.stderr, end="", flush=True)
    if r.returncode != 0:
        sys.exit(r.returncode)
`,
	"child.py": `def child():
    print("child ran", flush=True)
`,
}

// TestRealNodeFlows runs flows that fail, stream, are cancelled, run out
// of memory and start runs, in real containers, with the in-cluster
// reconciler behind the admission policy (render --admission-policy).
func TestRealNodeFlows(t *testing.T) {
	rc := useRealCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const ns = "realflows"
	dir := filepath.Join(t.TempDir(), "realflows")
	files := map[string]string{"flows.yaml": strings.Replace(realFlowsProject, "namespace: flows", "namespace: "+ns, 1)}
	for name, data := range realFlows {
		files["flows/"+name] = data
	}
	for name, data := range files {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	rc.importFlows(t, ctx, realFlowsImage, realFlows)
	k := rc.cli(t, dir)
	k.expect(0, []string{"render", "--admission-policy"})
	rc.install(t, ctx, dir, ns, 1)
	rc.kubectl(t, ctx, dir, "apply", "-f", filepath.Join("deploy", render.AdmissionPolicyFile))
	waitAdmissionPolicy(t, ctx, rc.cp.Client, ns, "kubectl-flows-"+ns)
	c := rc.cp.Client

	// Runs that only need to end go at once, each `run --wait` in the
	// background; the others are checked meanwhile.
	raises := k.background("run", "boom/raises", "--name", "raises-1", "--wait", "--timeout", "2m")
	unknown := k.background("run", "boom/unknown", "--name", "unknown-1", "--wait", "--timeout", "2m")
	hog := k.background("run", "hog/default", "--name", "hog-1", "--wait", "--timeout", "2m")
	parent := k.background("run", "parent/default", "--name", "parent-1", "--wait", "--timeout", "2m")
	outside := k.background("run", "parent/default", "-p", "child=boom/raises", "--name", "parent-outside", "--wait", "--timeout", "2m")

	t.Run("logs -f streams and cancel stops the process", func(t *testing.T) {
		k.t = t
		k.expect(0, []string{"run", "ticker/default", "--name", "ticker-1"})
		waitStateIn(t, ctx, c, ns, "ticker-1", v1alpha1.StateRunning, time.Minute)
		logs := k.background("logs", "-f", "ticker-1")
		logs.waitOutput(t, "tick 1\n", 30*time.Second)
		first := lastTick(logs.out.String())
		t0 := time.Now()
		logs.waitOutput(t, fmt.Sprintf("tick %d\n", first+4), 20*time.Second)
		select {
		case <-logs.done:
			t.Fatalf("logs -f ended while the flow runs:\n%s", logs.out.String())
		default:
		}
		t.Logf("logs -f: tick %d, then tick %d %v later, following", first, first+4, time.Since(t0).Round(10*time.Millisecond))

		t0 = time.Now()
		k.expect(0, []string{"cancel", "ticker-1"}, "cancel requested")
		// The pod's grace period is Kubernetes' default, 30 s: a process
		// that ignored SIGTERM would be killed at its end.
		const grace = 30 * time.Second
		waitStateIn(t, ctx, c, ns, "ticker-1", v1alpha1.StateCancelled, grace)
		tCancelled := time.Since(t0)
		if code := logs.wait(t, grace); code != 0 {
			t.Errorf("logs -f exited %d:\n%s", code, logs.out.String())
		}
		tStopped := time.Since(t0)
		if !strings.HasSuffix(logs.out.String(), "got SIGTERM, stopping\n") {
			t.Errorf("the flow's log does not end with what its SIGTERM handler printed:\n%s", logs.out.String())
		}
		if tStopped >= grace {
			t.Errorf("the flow stopped %v after cancel, not within the grace period (%v)", tStopped, grace)
		}
		t.Logf("cancel: Cancelled after %v; the flow printed its SIGTERM line and its log ended after %v", tCancelled.Round(10*time.Millisecond), tStopped.Round(10*time.Millisecond))
	})

	t.Run("a flow that raises ends Failed with its traceback", func(t *testing.T) {
		k.t = t
		if code := raises.wait(t, 2*time.Minute); code != plugin.ExitFailed {
			t.Errorf("run --wait of boom/raises: exit %d, want %d\n%s", code, plugin.ExitFailed, raises.out.String())
		}
		k.expect(0, []string{"describe", "run", "raises-1"}, "Failed", "Log Tail",
			"Traceback (most recent call last)", `in check`, "ValueError: the answer is not 41")
		k.expect(0, []string{"logs", "raises-1"}, "computing the answer", "ValueError: the answer is not 41")
	})

	t.Run("an unknown entrypoint ends Failed with the runner's message", func(t *testing.T) {
		k.t = t
		if code := unknown.wait(t, 2*time.Minute); code != plugin.ExitFailed {
			t.Errorf("run --wait of boom/unknown: exit %d, want %d\n%s", code, plugin.ExitFailed, unknown.out.String())
		}
		k.expect(0, []string{"describe", "run", "unknown-1"}, "Failed",
			"kubectl-flows: entrypoint flows/boom.py:nope: flows/boom.py has no function 'nope' (it defines: boom, check)")
	})

	t.Run("a memory limit exceeded ends Failed, OOMKilled", func(t *testing.T) {
		k.t = t
		if code := hog.wait(t, 2*time.Minute); code != plugin.ExitFailed {
			t.Errorf("run --wait of hog/default: exit %d, want %d\n%s", code, plugin.ExitFailed, hog.out.String())
		}
		// The run's own message says so, not only its pod while it lasts.
		if !strings.Contains(hog.out.String(), "run hog-1 Failed") || !strings.Contains(hog.out.String(), ": OOMKilled (exit 137)") {
			t.Errorf("run --wait of hog/default does not say it was OOMKilled:\n%s", hog.out.String())
		}
		k.expect(0, []string{"describe", "run", "hog-1"}, "Failed", "OOMKilled (exit 137)")
	})

	t.Run("a run started in a flow's pod is its child", func(t *testing.T) {
		k.t = t
		if code := parent.wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("run --wait of parent/default: exit %d\n%s", code, parent.out.String())
		}
		r := k.expect(0, []string{"logs", "parent-1"}, "Completed")
		child := regexp.MustCompile(`child-default-[a-z0-9]+`).FindString(r.stdout)
		if child == "" {
			t.Fatalf("the parent's log names no child run:\n%s", r.stdout)
		}
		k.expect(0, []string{"describe", "run", child}, "Completed", "Parent:", "parent-1 (Completed)")
		k.expect(0, []string{"describe", "run", "parent-1"}, "Children:", child)
		k.expect(0, []string{"logs", child}, "child ran")
	})

	t.Run("a starter may start only the deployments its deployment starts", func(t *testing.T) {
		k.t = t
		// From the flow's pod: the starter's run of boom/raises is refused
		// at creation, so the flow fails.
		if code := outside.wait(t, 2*time.Minute); code != plugin.ExitFailed {
			t.Errorf("run --wait of parent/default -p child=boom/raises: exit %d, want %d\n%s", code, plugin.ExitFailed, outside.out.String())
		}
		k.expect(0, []string{"logs", "parent-outside"},
			"a starter may create runs only of the deployments its deployment starts (child.default)", "this one names boom.raises")
		// With the starter's token from here: each way of naming another
		// deployment is refused, by the policy or by the reconciler.
		sa := v1alpha1.StarterServiceAccountName("parent", "default")
		cfg, err := rc.cp.RESTConfigForServiceAccount(ctx, ns, sa)
		must(t, err)
		starter, err := kubernetes.NewForConfig(cfg)
		must(t, err)
		create := func(name, deployment string, label *string) error {
			cm, err := v1alpha1.NewRunRequest(ns, name, &v1alpha1.RunRequest{Deployment: deployment})
			must(t, err)
			if label == nil {
				delete(cm.Labels, v1alpha1.LabelDeployment)
			} else {
				cm.Labels[v1alpha1.LabelDeployment] = *label
			}
			_, err = starter.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
			return err
		}
		theirs, allowed := "boom.raises", "child.default"
		for _, tc := range []struct {
			name    string
			label   *string
			refusal string
		}{
			{"its own label", &theirs, "this one names boom.raises"},
			{"no label", nil, "this one has no such label"},
		} {
			if err := create("smuggled-"+strings.ReplaceAll(tc.name, " ", "-"), "boom/raises", tc.label); err == nil || !strings.Contains(err.Error(), tc.refusal) {
				t.Errorf("a starter creating a run of boom/raises with %s: %v, want refused with %q", tc.name, err, tc.refusal)
			}
		}
		// The label of a deployment it may start, on a run.yaml of another:
		// the policy cannot read run.yaml, the reconciler does.
		must(t, create("smuggled-relabelled", "boom/raises", &allowed))
		st := waitStateIn(t, ctx, c, ns, "smuggled-relabelled", v1alpha1.StateRejected, time.Minute)
		if st.Reason != "InvalidRunRequest" || !strings.Contains(st.Message, `label kubectl-flows.dev/deployment is "child.default" but run.yaml names deployment "boom/raises"`) {
			t.Errorf("smuggled-relabelled: %s: %s", st.Reason, st.Message)
		}
		// What it starts, it may start, parent or not.
		must(t, create("started-by-starter", "child/default", &allowed))
		waitStateIn(t, ctx, c, ns, "started-by-starter", v1alpha1.StateCompleted, time.Minute)
	})

	t.Run("the admission policy refuses forged states and passes the reconciler's", func(t *testing.T) {
		status, err := v1alpha1.EncodeRunStatus(&v1alpha1.RunStatus{State: v1alpha1.StateCompleted, Reason: "Completed"})
		must(t, err)
		forged := fixture.RunRequest("forged-1", "deployment: child/default\n")
		forged.Data[v1alpha1.KeyStatus] = status
		_, err = c.CoreV1().ConfigMaps(ns).Create(ctx, forged, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "status.yaml of a run is written by the kubectl-flows reconciler only") {
			t.Errorf("a run request with status.yaml, by a cluster admin: %v, want refused by the policy", err)
		}
		_, err = c.CoreV1().ConfigMaps(ns).Patch(ctx, "raises-1", types.MergePatchType, []byte(`{"data":{"status.yaml":"state: Completed\n"}}`), metav1.PatchOptions{})
		if err == nil || !strings.Contains(err.Error(), "written by the kubectl-flows reconciler only") {
			t.Errorf("a cluster admin rewriting raises-1's status: %v, want refused by the policy", err)
		}
		// Every status above was written by the in-cluster reconciler
		// through the policy: each run ended, signed, its label matching.
		for name, want := range map[string]v1alpha1.RunState{"raises-1": v1alpha1.StateFailed, "hog-1": v1alpha1.StateFailed, "ticker-1": v1alpha1.StateCancelled, "parent-1": v1alpha1.StateCompleted} {
			cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			must(t, err)
			if st := runStatusIn(t, ctx, c, ns, name); st.State != want || cm.Labels[v1alpha1.LabelState] != string(want) {
				t.Errorf("run %s: status %q, label %q; want %s written by the reconciler", name, st.State, cm.Labels[v1alpha1.LabelState], want)
			}
		}
	})
}

var tickRE = regexp.MustCompile(`tick (\d+)\n`)

// lastTick is the number of the last "tick N" line in out.
func lastTick(out string) int {
	m := tickRE.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return -1
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}
