package harness_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

var cp *harness.ControlPlane

// leakHelperEnv is also spelled out in leak_test.go.
const leakHelperEnv = "KUBECTL_FLOWS_HARNESS_LEAK_HELPER"

func TestMain(m *testing.M) {
	// The leak test re-runs this binary as a helper that starts its own
	// control plane; it must not start the shared one.
	if os.Getenv(leakHelperEnv) != "" {
		os.Exit(m.Run())
	}
	// envtest logs through controller-runtime, which complains on stderr
	// when no logger is set 30s into the binary (a second control plane).
	ctrllog.SetLogger(logr.Discard())
	// Profiling on, as the bench runs it: TestCPUProfile.
	os.Setenv(harness.ProfilingEnv, "1")
	harness.Main(m, harness.Options{}, &cp)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newJob(name string, completions int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Completions:  &completions,
			Parallelism:  &completions,
			BackoffLimit: new(int32(0)),
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:    "main",
						Image:   "registry.example/flows/hello:1",
						Command: []string{"python", "-m", "flow"},
					}},
				},
			},
		},
	}
}

func jobPods(t *testing.T, ctx context.Context, ns, job string) []corev1.Pod {
	t.Helper()
	pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job})
	if err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func TestStartup(t *testing.T) {
	t.Logf("control plane started in %v (%d nodes, apiserver %s)", cp.StartupTime.Round(10*time.Millisecond), len(cp.Nodes), cp.APIServerURL())
	if cp.StartupTime > 10*time.Second {
		t.Logf("WARNING: startup slower than the 10s goal (cold caches or a loaded machine?)")
	}
	ctx := ctxFor(t, 30*time.Second)
	nodes, err := cp.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != len(cp.Nodes) || len(nodes.Items) != 4 {
		t.Fatalf("got %d nodes, want 4 (%v)", len(nodes.Items), cp.Nodes)
	}
	for _, n := range nodes.Items {
		if len(n.Spec.Taints) != 0 {
			t.Errorf("node %s has taints %v", n.Name, n.Spec.Taints)
		}
		if n.Status.Allocatable.Pods().Value() < 500 {
			t.Errorf("node %s allocatable pods %v", n.Name, n.Status.Allocatable.Pods())
		}
	}
	// kubectl of the same version works against it.
	out, err := cp.Kubectl(ctx, "get", "nodes", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	t.Logf("kubectl get nodes:\n%s", out)
}

func TestJobCompletesOnKwokNodes(t *testing.T) {
	ctx := ctxFor(t, 90*time.Second)
	ns := cp.NewNamespace(t)
	t0 := time.Now()
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, newJob("three", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	job, err := cp.WaitForJob(ctx, ns, "three", batchv1.JobComplete, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Job with 3 completions Complete after %v", time.Since(t0).Round(10*time.Millisecond))
	if job.Status.Succeeded != 3 {
		t.Errorf("succeeded = %d, want 3", job.Status.Succeeded)
	}
	pods := jobPods(t, ctx, ns, "three")
	if len(pods) != 3 {
		t.Fatalf("got %d pods, want 3", len(pods))
	}
	for _, p := range pods {
		if !slices.Contains(cp.Nodes, p.Spec.NodeName) {
			t.Errorf("pod %s on node %q, not a kwok node", p.Name, p.Spec.NodeName)
		}
		if p.Status.Phase != corev1.PodSucceeded {
			t.Errorf("pod %s phase %s", p.Name, p.Status.Phase)
		}
		// The ServiceAccount admission plugin is on: pods get a token volume.
		if p.Spec.ServiceAccountName != "default" || len(p.Spec.Volumes) == 0 {
			t.Errorf("pod %s: serviceAccountName %q, volumes %d", p.Name, p.Spec.ServiceAccountName, len(p.Spec.Volumes))
		}
	}
}

func TestDelayAnnotationHoldsPodRunning(t *testing.T) {
	const delay = 8 * time.Second
	ctx := ctxFor(t, 90*time.Second)
	ns := cp.NewNamespace(t)
	job := newJob("slow", 1)
	harness.AnnotateDelay(&job.Spec.Template, delay)
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var running time.Time
	err := harness.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		for _, p := range jobPods(t, ctx, ns, "slow") {
			if p.Status.Phase == corev1.PodRunning {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod never Running: %v", err)
	}
	running = time.Now()
	// Half-way through, it must still run.
	time.Sleep(delay / 2)
	for _, p := range jobPods(t, ctx, ns, "slow") {
		if p.Status.Phase != corev1.PodRunning {
			t.Fatalf("pod %s is %s %v after Running, want still Running", p.Name, p.Status.Phase, time.Since(running))
		}
	}
	if _, err := cp.WaitForJob(ctx, ns, "slow", batchv1.JobComplete, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	held := time.Since(running)
	t.Logf("pod held Running for about %v (delay %v)", held.Round(100*time.Millisecond), delay)
	if held < delay-time.Second {
		t.Errorf("Job completed %v after its pod ran, want at least %v", held, delay)
	}
	if held > delay+15*time.Second {
		t.Errorf("Job completed %v after its pod ran, want about %v", held, delay)
	}
}

func TestFailAnnotationFailsJob(t *testing.T) {
	ctx := ctxFor(t, 90*time.Second)
	ns := cp.NewNamespace(t)
	job := newJob("crash", 1)
	harness.FailAfter(&job.Spec.Template, 2*time.Second, 3)
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j, err := cp.WaitForJob(ctx, ns, "crash", batchv1.JobFailed, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed {
			t.Logf("Job Failed: %s: %s", c.Reason, c.Message)
		}
	}
	pods := jobPods(t, ctx, ns, "crash")
	if len(pods) == 0 {
		t.Fatal("no pods")
	}
	p := pods[0]
	if p.Status.Phase != corev1.PodFailed {
		t.Fatalf("pod phase %s, want Failed", p.Status.Phase)
	}
	cs := p.Status.ContainerStatuses
	if len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != 3 {
		t.Fatalf("container statuses %+v, want terminated with exit code 3", cs)
	}
}

// An evicted pod goes Failed with its DisruptionTarget condition, so a
// Job's podFailurePolicy fails the Job on it, naming the rule.
func TestEvictFailsPodWithDisruptionTarget(t *testing.T) {
	ctx := ctxFor(t, 90*time.Second)
	ns := cp.NewNamespace(t)
	job := newJob("evicted", 1)
	harness.AnnotateDelay(&job.Spec.Template, time.Hour)
	job.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action:          batchv1.PodFailurePolicyActionFailJob,
		OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
	}}}
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod string
	if err := harness.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		for _, p := range jobPods(t, ctx, ns, "evicted") {
			if p.Status.Phase == corev1.PodRunning {
				pod = p.Name
			}
		}
		return pod != "", nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := harness.Evict(ctx, cp.Client, ns, pod); err != nil {
		t.Fatal(err)
	}
	j, err := cp.WaitForJob(ctx, ns, "evicted", batchv1.JobFailed, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed {
			t.Logf("Job Failed: %s: %s", c.Reason, c.Message)
			if c.Reason != batchv1.JobReasonPodFailurePolicy || !strings.Contains(c.Message, "DisruptionTarget") || !strings.Contains(c.Message, "rule at index 0") {
				t.Errorf("Job failed %s: %s; want PodFailurePolicy naming DisruptionTarget and rule 0", c.Reason, c.Message)
			}
		}
	}
}

// Pods that never start: a missing image, a crash loop, no node to run on.
func TestStuckPods(t *testing.T) {
	ctx := ctxFor(t, 90*time.Second)
	ns := cp.NewNamespace(t)
	mk := func(name string, f func(*corev1.Pod)) {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyOnFailure,
				Containers:    []corev1.Container{{Name: "main", Image: "registry.example/does-not-exist:0"}},
			},
		}
		f(p)
		if _, err := cp.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("pull", func(p *corev1.Pod) { harness.Stuck(p, harness.StuckImagePullBackOff) })
	mk("crash", func(p *corev1.Pod) { harness.Stuck(p, harness.StuckCrashLoopBackOff) })
	mk("nowhere", func(p *corev1.Pod) { harness.Unschedulable(&p.Spec) })

	waiting := func(name, reason string, phase corev1.PodPhase) {
		t.Helper()
		err := harness.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
			p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.State.Waiting != nil && cs.State.Waiting.Reason == reason && p.Status.Phase == phase {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Errorf("pod %s never %s/%s: %v", name, phase, reason, err)
		}
	}
	waiting("pull", "ImagePullBackOff", corev1.PodPending)
	waiting("crash", "CrashLoopBackOff", corev1.PodRunning)
	err := harness.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "nowhere", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("pod nowhere never Unschedulable: %v", err)
	}
	// And they stay so.
	time.Sleep(3 * time.Second)
	waiting("pull", "ImagePullBackOff", corev1.PodPending)
	waiting("crash", "CrashLoopBackOff", corev1.PodRunning)
}

func TestServiceAccountRBAC(t *testing.T) {
	ctx := ctxFor(t, 60*time.Second)
	ns := cp.NewNamespace(t)
	other := cp.NewNamespace(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner"}}
	if _, err := cp.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path, err := cp.KubeconfigForServiceAccount(ctx, ns, "runner")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)

	_, err = client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("listing Jobs without RBAC: err = %v, want Forbidden", err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "jobs"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"list", "create"}}},
	}
	if _, err := cp.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "runner-jobs"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "jobs"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "runner", Namespace: ns}},
	}
	if _, err := cp.Client.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = harness.WaitFor(ctx, 10*time.Second, func(ctx context.Context) (bool, error) {
		_, err := client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("listing Jobs after the RoleBinding: %v", err)
	}
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, newJob("by-sa", 1), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a Job as the ServiceAccount: %v", err)
	}
	if _, err := client.BatchV1().Jobs(other).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing Jobs in another namespace: err = %v, want Forbidden", err)
	}
	if _, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing Pods: err = %v, want Forbidden", err)
	}

	// A certificate user, bound to the aggregated "view" ClusterRole (the
	// clusterrole-aggregation controller fills it in).
	userPath, err := cp.KubeconfigForUser("alice", []string{"flows-viewers"})
	if err != nil {
		t.Fatal(err)
	}
	ucfg, err := clientcmd.BuildConfigFromFlags("", userPath)
	if err != nil {
		t.Fatal(err)
	}
	alice := kubernetes.NewForConfigOrDie(ucfg)
	if _, err := alice.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice listing Jobs without RBAC: err = %v, want Forbidden", err)
	}
	view := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "viewers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "flows-viewers"}},
	}
	if _, err := cp.Client.RbacV1().RoleBindings(ns).Create(ctx, view, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = harness.WaitFor(ctx, 10*time.Second, func(ctx context.Context) (bool, error) {
		_, err := alice.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("alice listing Jobs after binding view: %v", err)
	}
	if _, err := alice.BatchV1().Jobs(ns).Create(ctx, newJob("by-alice", 1), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice creating a Job with view: err = %v, want Forbidden", err)
	}
}

// TestManyJobs measures the control plane's Job throughput: 200 Jobs
// ($KUBECTL_FLOWS_HARNESS_JOBS) created by 16 clients, each run to
// completion.
func TestManyJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	n, workers := 200, 16
	if v := os.Getenv("KUBECTL_FLOWS_HARNESS_JOBS"); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil {
			t.Fatal(err)
		}
	}
	ctx := ctxFor(t, 3*time.Minute)
	ns := cp.NewNamespace(t)
	t0 := time.Now()
	var next atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if int(i) > n {
					return
				}
				if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, newJob(fmt.Sprintf("j-%03d", i), 1), metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	created := time.Since(t0)
	err := harness.WaitFor(ctx, 150*time.Second, func(ctx context.Context) (bool, error) {
		jobs, err := cp.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		done := 0
		for _, j := range jobs.Items {
			if j.Status.Succeeded == 1 {
				done++
			}
		}
		return done == n, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d Jobs created in %v, all Complete %v later (pod run time 1s)", n, created.Round(10*time.Millisecond), (time.Since(t0) - created).Round(10*time.Millisecond))
}

// The TTL-after-finished controller deletes a finished Job and the garbage
// collector its pods.
func TestFinishedJobTTLAndGarbageCollection(t *testing.T) {
	ctx := ctxFor(t, 90*time.Second)
	ns := cp.NewNamespace(t)
	job := newJob("ttl", 2)
	job.Spec.TTLSecondsAfterFinished = new(int32(0))
	harness.AnnotateDelay(&job.Spec.Template, 100*time.Millisecond)
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := harness.WaitFor(ctx, 60*time.Second, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.BatchV1().Jobs(ns).Get(ctx, "ttl", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("Job not deleted after finishing: %v", err)
	}
	err = harness.WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		return len(jobPods(t, ctx, ns, "ttl")) == 0, nil
	})
	if err != nil {
		t.Fatalf("pods of the deleted Job not garbage collected: %v", err)
	}
}

// Setup and Options: a private one-node control plane whose pods finish at
// once.
func TestSetupPrivateControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	own := harness.Setup(t, harness.Options{Nodes: 1, PodRunTime: -1})
	t.Logf("private control plane started in %v", own.StartupTime.Round(10*time.Millisecond))
	if len(own.Nodes) != 1 || own.APIServerURL() == cp.APIServerURL() {
		t.Fatalf("nodes %v, apiserver %s (shared %s)", own.Nodes, own.APIServerURL(), cp.APIServerURL())
	}
	ctx := ctxFor(t, 60*time.Second)
	ns, err := own.CreateNamespace(ctx, "private")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := own.Client.BatchV1().Jobs(ns).Create(ctx, newJob("quick", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := own.WaitForJob(ctx, ns, "quick", batchv1.JobComplete, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("Job Complete after %v with PodRunTime 0", time.Since(t0).Round(10*time.Millisecond))
}

// TestRestartAPIServer: after RestartAPIServer the objects are still there
// (same etcd), the admin client and a ServiceAccount's token still work
// (same port, certificates and signing key), and the controllers and kwok
// have reconnected: a Job created afterwards completes.
func TestRestartAPIServer(t *testing.T) {
	ctx := ctxFor(t, 3*time.Minute)
	ns := cp.NewNamespace(t)
	if _, err := cp.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "before"}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	saCfg, err := cp.RESTConfigForServiceAccount(ctx, ns, "runner")
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(saCfg)
	if err != nil {
		t.Fatal(err)
	}

	down, err := cp.RestartAPIServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver away %v", down.Round(10*time.Millisecond))

	cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, "before", metav1.GetOptions{})
	if err != nil || cm.Data["k"] != "v" {
		t.Fatalf("the ConfigMap made before the restart: %v, %v", cm, err)
	}
	// The token authenticates; RBAC grants it nothing.
	if _, err := sa.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the ServiceAccount's token after the restart: %v, want Forbidden", err)
	}
	if _, err := cp.Client.BatchV1().Jobs(ns).Create(ctx, newJob("after", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.WaitForJob(ctx, ns, "after", batchv1.JobComplete, 90*time.Second); err != nil {
		t.Fatalf("a Job created after the restart: %v", err)
	}
}
