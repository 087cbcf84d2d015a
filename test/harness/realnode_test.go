//go:build linux

package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/image"
)

// nodeFootprint is what a real node has made on the machine, found from
// outside: processes, mounts, interfaces, cgroups.
type nodeFootprint struct {
	components []string // kubelet, containerd, shims: by name, with pid
	containers []int    // processes in the node's cgroups
	mounts     []string
	links      []string // the bridge and the pods' veths on it
	cgroups    []string
	outside    []string // shim sockets, CNI results, log links
}

func footprint(runDir string, st nodeState) nodeFootprint {
	var f nodeFootprint
	for _, pid := range processesMentioning(runDir + string(filepath.Separator)) {
		f.components = append(f.components, fmt.Sprintf("%s[%d]", procName(pid), pid))
	}
	for _, pid := range cgroupPids(st.CgroupRoot) {
		if _, alive := processStartTime(pid); alive {
			f.containers = append(f.containers, pid)
		}
	}
	f.mounts = mountsUnder(runDir)
	if _, err := net.InterfaceByName(st.Bridge); err == nil {
		f.links = append(f.links, st.Bridge)
		ports, _ := os.ReadDir(filepath.Join("/sys/class/net", st.Bridge, "brif"))
		for _, p := range ports {
			f.links = append(f.links, p.Name())
		}
	}
	f.cgroups = cgroupDirs(st.CgroupRoot)
	f.outside = filesOutside(runDir)
	return f
}

// gone lists what of an earlier footprint still exists (veths by name: the
// bridge is gone by then), plus anything new the node made.
func (before nodeFootprint) gone(runDir string, st nodeState) []string {
	now := footprint(runDir, st)
	var left []string
	add := func(what string, items []string) {
		if len(items) > 0 {
			left = append(left, what+" "+strings.Join(items, ", "))
		}
	}
	add("processes", now.components)
	if len(now.containers) > 0 {
		left = append(left, fmt.Sprintf("container processes %v", now.containers))
	}
	add("mounts", now.mounts)
	var links []string
	for _, l := range before.links {
		if _, err := net.InterfaceByName(l); err == nil {
			links = append(links, l)
		}
	}
	add("interfaces", links)
	add("cgroups", now.cgroups)
	var files []string
	for _, f := range before.outside {
		if _, err := os.Lstat(f); err == nil {
			files = append(files, f)
		}
	}
	add("files", files)
	return left
}

// mustHaveRun checks that a footprint shows a real node with a running
// pod, so that finding it gone later means something.
func (f nodeFootprint) mustHaveRun(t *testing.T) {
	t.Helper()
	names := strings.Join(f.components, " ")
	for _, want := range []string{"kubelet[", "containerd[", "containerd-shim-runc-v2["} {
		if !strings.Contains(names, want) {
			t.Errorf("no %s] among the real node's processes %v", want, f.components)
		}
	}
	if len(f.containers) == 0 || len(f.mounts) == 0 || len(f.links) < 2 || len(f.cgroups) == 0 || len(f.outside) < 3 {
		t.Errorf("the real node with a running pod shows containers %v, mounts %v, links %v, %d cgroups, files outside %v: want some of each",
			f.containers, f.mounts, f.links, len(f.cgroups), f.outside)
	}
	t.Logf("real node footprint: %d processes %v, %d container processes, %d mounts, links %v, %d cgroups, files outside %v",
		len(f.components), f.components, len(f.containers), len(f.mounts), f.links, len(f.cgroups), f.outside)
}

// kubectlImageRef is an image of the control plane's kubectl alone (a
// static binary) as entrypoint.
const kubectlImageRef = "localhost/kubectl-flows/harness-kubectl:test"

// kubectlImage builds kubectlImageRef and returns its archive.
func kubectlImage(t *testing.T, ctx context.Context, cp *ControlPlane) string {
	t.Helper()
	bin, err := os.ReadFile(cp.KubectlPath())
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(0, 0)
	layer, err := image.Layer([]image.File{image.Regular("kubectl", 0o755, bin)}, created)
	if err != nil {
		t.Fatal(err)
	}
	img, err := image.Build(image.Config{Entrypoint: []string{"/kubectl"}, Arch: runtime.GOARCH, Created: created}, layer)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubectl.tar")
	if err := image.WriteArchive(path, img, kubectlImageRef, created); err != nil {
		t.Fatal(err)
	}
	return path
}

// sleeperPod is a pod on the real node that runs until it is killed.
func sleeperPod(ns string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper", Namespace: ns},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "main", Image: BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sleep", "3600"},
			}},
			TerminationGracePeriodSeconds: new(int64(1)),
		},
	}
	OnRealNode(&p.Spec)
	return p
}

// waitRunning waits until pod ns/name runs.
func (cp *ControlPlane) waitRunning(ctx context.Context, ns, name string) error {
	return WaitFor(ctx, 60*time.Second, func(ctx context.Context) (bool, error) {
		p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodRunning, nil
	})
}

// TestRealNodeRunsAJob runs a Job in a real container: its output is read
// back through the API (pods/log, what `kubectl logs` reads) and its exit
// code from the pod's status; then the cluster stops and nothing of the
// node is left on the machine.
func TestRealNodeRunsAJob(t *testing.T) {
	RequireRealNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	t0 := time.Now()
	cp, err := Start(ctx, Options{RealNode: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = cp.Stop()
		}
	}()
	rn := cp.RealNode
	t.Logf("control plane with a real node up in %v; node %s (%s) Ready %v after its kubelet started",
		time.Since(t0).Round(10*time.Millisecond), rn.Name, rn.IP, rn.ReadyAfter.Round(10*time.Millisecond))
	if len(cp.Nodes) != 0 {
		t.Errorf("kwok nodes %v beside a real node alone", cp.Nodes)
	}
	ns, err := cp.CreateNamespace(ctx, "real-job")
	if err != nil {
		t.Fatal(err)
	}

	tJob := time.Now()
	const line = "hello from a real container"
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "exit3"},
		Spec: batchv1.JobSpec{
			BackoffLimit: new(int32(0)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{
					Name: "main", Image: BusyboxImage, ImagePullPolicy: corev1.PullNever,
					Command: []string{"sh", "-c", "echo '" + line + "'; exit 3"},
				}},
			}},
		},
	}
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.WaitForJob(ctx, ns, "exit3", batchv1.JobFailed, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=exit3"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the Job's pods: %v, %v", pods, err)
	}
	pod := pods.Items[0]
	if pod.Spec.NodeName != rn.Name || pod.Status.Phase != corev1.PodFailed {
		t.Errorf("pod %s on node %q, phase %s; want on %s, Failed", pod.Name, pod.Spec.NodeName, pod.Status.Phase, rn.Name)
	}
	cs := pod.Status.ContainerStatuses
	if len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != 3 {
		t.Errorf("container statuses %+v, want terminated with exit code 3", cs)
	}
	logs, err := cp.Client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || string(logs) != line+"\n" {
		t.Errorf("pods/log of %s: %q, %v; want %q", pod.Name, logs, err, line+"\n")
	}
	out, err := cp.Kubectl(ctx, "logs", "-n", ns, "job/exit3").CombinedOutput()
	if err != nil || string(out) != line+"\n" {
		t.Errorf("kubectl logs job/exit3: %q, %v; want %q", out, err, line+"\n")
	}
	t.Logf("Job ran, failed with exit code 3 and its log was read back %v after it was created", time.Since(tJob).Round(10*time.Millisecond))

	// An in-cluster client: kubectl in a pod, with no kubeconfig, reaches
	// the API server at the kubernetes Service, verifies it with the
	// ServiceAccount's ca.crt and authenticates with its token.
	tIn := time.Now()
	if err := cp.ImportImages(ctx, kubectlImage(t, ctx, cp)); err != nil {
		t.Fatal(err)
	}
	who := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "whoami"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "main", Image: kubectlImageRef, ImagePullPolicy: corev1.PullNever,
				Args: []string{"auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"},
			}},
		},
	}
	if _, err := cp.Client.CoreV1().Pods(ns).Create(ctx, who, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = WaitFor(ctx, 60*time.Second, func(ctx context.Context) (bool, error) {
		p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "whoami", metav1.GetOptions{})
		return err == nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed), err
	})
	logs, _ = cp.Client.CoreV1().Pods(ns).GetLogs("whoami", &corev1.PodLogOptions{}).DoRaw(ctx)
	if want := "system:serviceaccount:" + ns + ":default"; err != nil || string(logs) != want {
		t.Errorf("kubectl auth whoami in a pod: %q (%v), want %q", logs, err, want)
	}
	t.Logf("in-cluster kubectl authenticated as %q, %v after its image (kubectl, ~60 MB) began to be built", logs, time.Since(tIn).Round(10*time.Millisecond))

	// A pod still running when the cluster stops: its processes, sandbox,
	// mounts and veth must go too.
	if _, err := cp.Client.CoreV1().Pods(ns).Create(ctx, sleeperPod(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cp.waitRunning(ctx, ns, "sleeper"); err != nil {
		t.Fatalf("pod sleeper: %v", err)
	}
	before := footprint(cp.Dir, rn.state)
	before.mustHaveRun(t)

	tStop := time.Now()
	stopped = true
	if err := cp.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(tStop).Round(10*time.Millisecond))
	if left := before.gone(cp.Dir, rn.state); len(left) > 0 {
		t.Errorf("left behind after Stop: %s", strings.Join(left, "; "))
	}
	if _, err := os.Stat(cp.Dir); !cp.opts.KeepDir && !os.IsNotExist(err) {
		t.Errorf("run directory %s still there", cp.Dir)
	}
}

// TestRealNodeBesideKwok runs the real node beside kwok nodes: kwok keeps
// playing its own nodes and leaves the real one alone, the real node's
// taint keeps kwok-minded pods off it, and OnRealNode puts a pod there.
func TestRealNodeBesideKwok(t *testing.T) {
	RequireRealNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cp, err := Start(ctx, Options{RealNode: true, Nodes: 2, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	node, err := cp.Client.CoreV1().Nodes().Get(ctx, cp.RealNode.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != TaintRealNode || node.Labels[LabelRealNode] != "true" {
		t.Errorf("real node taints %v, labels %v; want the taint %s and label %s=true", node.Spec.Taints, node.Labels, TaintRealNode, LabelRealNode)
	}
	ns, err := cp.CreateNamespace(ctx, "beside")
	if err != nil {
		t.Fatal(err)
	}
	job := func(name, image string, command []string, real bool) *batchv1.Job {
		three := int32(3)
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.JobSpec{Completions: &three, Parallelism: &three, BackoffLimit: new(int32(0)),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: image, ImagePullPolicy: corev1.PullNever, Command: command}},
				}}},
		}
		if real {
			OnRealNode(&j.Spec.Template.Spec)
		}
		return j
	}
	// An image that exists nowhere: only kwok can "run" it.
	for _, j := range []*batchv1.Job{
		job("fake", "registry.example/flows/hello:1", []string{"python", "-m", "flow"}, false),
		job("real", BusyboxImage, []string{"echo", "ran for real"}, true),
	} {
		if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, wantReal := range map[string]bool{"fake": false, "real": true} {
		if _, err := cp.WaitForJob(ctx, ns, name, batchv1.JobComplete, 90*time.Second); err != nil {
			t.Fatalf("Job %s: %v", name, err)
		}
		pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + name})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if onReal := p.Spec.NodeName == cp.RealNode.Name; onReal != wantReal {
				t.Errorf("Job %s's pod %s ran on %s", name, p.Name, p.Spec.NodeName)
			}
			if !wantReal {
				continue
			}
			logs, err := cp.Client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
			if err != nil || string(logs) != "ran for real\n" {
				t.Errorf("pod %s's log: %q, %v", p.Name, logs, err)
			}
		}
	}
}
