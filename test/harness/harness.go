package harness

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options configure a control plane. The zero value is a good default.
type Options struct {
	// Nodes is how many fake (kwok) nodes to create; default 4, or none
	// when RealNode is set (give a number for both). Negative means none.
	Nodes int
	// RealNode adds one node that runs real containers: a kubelet and a
	// containerd of its own (see realnode.go). It needs Linux, root and
	// Debian's containerd, runc and containernetworking-plugins; tests that
	// use it call RequireRealNode first. Beside kwok nodes it is tainted
	// (TaintRealNode; OnRealNode puts a pod there); alone, every pod runs
	// on it.
	RealNode bool
	// Images are image tarballs (docker save or OCI archive) to import into
	// the real node's containerd before Start returns, beside PauseImage and
	// BusyboxImage; ImportImages adds more later.
	Images []string
	// NodeAllocatable is each node's capacity and allocatable; default
	// cpu 1000, memory 4Ti, pods 1000 (so thousands of pods fit).
	NodeAllocatable corev1.ResourceList
	// PodRunTime is how long a Job's pod stays Running before kwok makes it
	// Succeed, unless the pod says otherwise (AnnotateDelay); default 1s.
	// Negative means 0.
	PodRunTime time.Duration
	// PodStartDelay is how long each step from "bound to a node" to
	// "Running" takes (two steps); default 0.
	PodStartDelay time.Duration
	// BinDir holds the binaries; default BinDir().
	BinDir string
	// KeepDir keeps the run directory (logs, kubeconfigs, etcd data) after
	// Stop; also set by KUBECTL_FLOWS_HARNESS_KEEP=1.
	KeepDir bool
	// Logf receives progress lines; default: to stderr. Use
	// func(string, ...any) {} to silence.
	Logf func(format string, args ...any)
	// Verbosity is the klog -v of kube-controller-manager and
	// kube-scheduler; default 1.
	Verbosity int
}

// Components' client rate limits: far above the defaults (20/30 for the
// controller manager, 50/100 for the scheduler) so they keep up with
// hundreds of Jobs a second.
const (
	componentQPS   = 500
	componentBurst = 1000
	// ClientQPS and ClientBurst are set on every rest.Config the harness
	// hands out.
	ClientQPS   = 1000
	ClientBurst = 2000
)

// Controllers is what the harness runs in kube-controller-manager: enough
// for Jobs, CronJobs, Deployments, namespaces, service accounts, garbage
// collection, quotas and nodes to behave as in a real cluster.
var Controllers = []string{
	"job-controller",
	"cronjob-controller",
	"ttl-after-finished-controller",
	"garbage-collector-controller",
	"pod-garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"root-ca-certificate-publisher-controller",
	"clusterrole-aggregation-controller",
	"resourcequota-controller",
	"deployment-controller",
	"replicaset-controller",
	"node-lifecycle-controller",
	"taint-eviction-controller",
	"serviceaccount-token-controller",
}

// ControlPlane is a running control plane: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, all on 127.0.0.1.
type ControlPlane struct {
	// Dir is the run directory: kubeconfigs, logs/, etcd data, certs.
	Dir string
	// BinDir holds the binaries it runs (and kubectl).
	BinDir string
	// Kubeconfig is the path of an admin (system:masters) kubeconfig.
	Kubeconfig string
	// Config is the admin rest.Config (QPS ClientQPS, Burst ClientBurst).
	// Copy it (rest.CopyConfig) before changing it.
	Config *rest.Config
	// Client is an admin client.
	Client kubernetes.Interface
	// Nodes are the names of the fake nodes.
	Nodes []string
	// RealNode is the real node, or nil without Options.RealNode.
	RealNode *RealNode
	// StartupTime is how long Start took, from nothing to ready.
	StartupTime time.Duration

	opts      Options
	profiling bool // ProfilingEnv, as it was at Start
	env       *envtest.Environment
	spawn     *spawner
	caFile    string
	mu        sync.Mutex
	userMu    sync.Mutex
	procs     []*proc
	stopOnce  sync.Once
	stopErr   error
}

// Start starts a control plane on free loopback ports in a fresh directory
// under $TMPDIR/kubectl-flows-harness and returns when it is ready: the
// apiserver is ready, every node is Ready with the not-ready taint gone, and
// the "default" ServiceAccount exists. It first sweeps away what killed
// earlier runs left behind. Call Stop when done, even after an error-free
// test; if the calling process dies instead, its children die with it
// (Linux) and the next Start cleans up the directory.
func Start(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	t0 := time.Now()
	opts = defaults(opts)
	sweepLeftovers(opts)
	if opts, err = findBinaries(opts); err != nil {
		return nil, err
	}
	dir, err := newRunDir()
	if err != nil {
		return nil, err
	}
	cp = &ControlPlane{Dir: dir, BinDir: opts.BinDir, opts: opts, spawn: newSpawner(), profiling: profilingAsked()}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w (logs in %s)", err, filepath.Join(dir, "logs"))
			if stopErr := cp.stop(true); stopErr != nil {
				opts.Logf("harness: cleaning up after failed start: %v", stopErr)
			}
		}
	}()

	if opts.RealNode {
		if err := cp.prepareRealNode(); err != nil {
			return cp, err
		}
	}
	if err := cp.startAPIServer(); err != nil {
		return cp, err
	}
	tAPI := time.Since(t0)
	if err := cp.startComponents(ctx); err != nil {
		return cp, err
	}
	if err := cp.waitReady(ctx); err != nil {
		return cp, err
	}
	cp.StartupTime = time.Since(t0)
	opts.Logf("harness: control plane ready in %v (etcd+apiserver %v), %d kwok nodes%s, dir %s",
		cp.StartupTime.Round(10*time.Millisecond), tAPI.Round(10*time.Millisecond), len(cp.Nodes), cp.realNodeSummary(), dir)
	return cp, nil
}

// sweepLeftovers removes what killed earlier runs left behind, and says so.
func sweepLeftovers(opts Options) {
	if swept, err := Sweep(); err != nil {
		opts.Logf("harness: sweeping leftovers: %v", err)
	} else if len(swept) > 0 {
		opts.Logf("harness: removed %d leftover control plane(s) of dead processes", len(swept))
	}
}

// findBinaries checks that what opts asks for can run here: the real node
// when asked for, the control plane's binaries (found when opts names no
// directory) and, for a real node, the kubelet.
func findBinaries(opts Options) (Options, error) {
	if opts.RealNode {
		if err := RealNodeAvailable(); err != nil {
			return opts, fmt.Errorf("harness: no real node: %w", err)
		}
	}
	var err error
	if opts.BinDir == "" {
		if opts.BinDir, err = BinDir(); err != nil {
			return opts, err
		}
	} else if err := completeBinDir(opts.BinDir); err != nil {
		return opts, err
	}
	if opts.RealNode {
		if err := hasKubelet(opts.BinDir); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// newRunDir makes a fresh run directory, owned by this process, with the
// subdirectories the components write to.
func newRunDir() (string, error) {
	if err := os.MkdirAll(runRoot(), 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(runRoot(), "run-")
	if err != nil {
		return "", err
	}
	if err := writeOwner(dir, os.Getpid()); err != nil {
		return dir, err
	}
	for _, sub := range []string{"logs", "bin", "kubeconfigs", "kwok", "kcm", "scheduler", "apiserver"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// startComponents starts the controller manager, the scheduler, kwok, the
// nodes and the real node all at once, and returns when each has started.
func (cp *ControlPlane) startComponents(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 5)
	run := func(i int, f func() error) {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f() }()
	}
	run(0, cp.startControllerManager)
	run(1, cp.startScheduler)
	run(2, cp.startKwok)
	run(3, func() error { return cp.createNodes(ctx) })
	if cp.opts.RealNode {
		run(4, func() error { return cp.startRealNode(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func defaults(o Options) Options {
	switch {
	case o.Nodes < 0, o.Nodes == 0 && o.RealNode:
		o.Nodes = 0
	case o.Nodes == 0:
		o.Nodes = 4
	}
	if o.NodeAllocatable == nil {
		o.NodeAllocatable = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("1000"),
			corev1.ResourceMemory: resource.MustParse("4Ti"),
			corev1.ResourcePods:   resource.MustParse("1000"),
		}
	}
	switch {
	case o.PodRunTime == 0:
		o.PodRunTime = time.Second
	case o.PodRunTime < 0:
		o.PodRunTime = 0
	}
	if o.PodStartDelay < 0 {
		o.PodStartDelay = 0
	}
	if o.Logf == nil {
		o.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		}
	}
	if o.Verbosity == 0 {
		o.Verbosity = 1
	}
	if os.Getenv("KUBECTL_FLOWS_HARNESS_KEEP") == "1" {
		o.KeepDir = true
	}
	return o
}

// wrapper returns the path to run binary name through: a script that sets
// the parent-death signal (setpriv, from util-linux) for processes envtest
// starts, which the harness cannot configure itself. Without setpriv it is
// the binary itself, and only Stop and Sweep clean up.
func (cp *ControlPlane) wrapper(name string) (string, error) {
	real := filepath.Join(cp.BinDir, name)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || noDeathSignal() {
		return real, nil
	}
	path := filepath.Join(cp.Dir, "bin", name)
	script := fmt.Sprintf("#!/bin/sh\nexec %s --pdeathsig KILL -- %s \"$@\"\n", shellQuote(setpriv), shellQuote(real))
	return path, os.WriteFile(path, []byte(script), 0o755)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (cp *ControlPlane) startAPIServer() error {
	etcdPath, err := cp.wrapper("etcd")
	if err != nil {
		return err
	}
	apiPath, err := cp.wrapper("kube-apiserver")
	if err != nil {
		return err
	}
	etcdLog, err := os.Create(filepath.Join(cp.Dir, "logs", "etcd.log"))
	if err != nil {
		return err
	}
	apiLog, err := os.Create(filepath.Join(cp.Dir, "logs", "kube-apiserver.log"))
	if err != nil {
		return err
	}
	etcd := &envtest.Etcd{Path: etcdPath, DataDir: filepath.Join(cp.Dir, "etcd"), Out: etcdLog, Err: etcdLog}
	etcd.Configure().Set("log-level", "warn")
	etcd.Configure().Set("enable-pprof", strconv.FormatBool(cp.profiling))
	api := &envtest.APIServer{Path: apiPath, CertDir: filepath.Join(cp.Dir, "apiserver"), Out: apiLog, Err: apiLog}
	// Each real node's pods find the API server at their own cluster's
	// kubernetes Service IP (RealNode.APIServiceIP).
	serviceRange, serviceIP := "10.96.0.0/16", net.IPv4(10, 96, 0, 1)
	if rn := cp.RealNode; rn != nil {
		serviceRange, serviceIP = fmt.Sprintf("10.96.%d.0/24", rn.state.Slot), net.ParseIP(rn.APIServiceIP)
	}
	if api.SecureServing.CA, err = writeAPIServerCerts(api.CertDir, serviceIP); err != nil {
		return fmt.Errorf("kube-apiserver's certificates: %w", err)
	}
	if err := cp.apiServerFlags(api.Configure(), serviceRange); err != nil {
		return err
	}
	useExisting := false
	cp.env = &envtest.Environment{
		ControlPlane:             envtest.ControlPlane{Etcd: etcd, APIServer: api, KubectlPath: filepath.Join(cp.BinDir, "kubectl")},
		UseExistingCluster:       &useExisting,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  15 * time.Second,
	}
	var cfg *rest.Config
	cp.spawn.do(func() { cfg, err = cp.env.Start() })
	if err != nil {
		return fmt.Errorf("starting etcd and kube-apiserver: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = ClientQPS, ClientBurst
	cp.Config = cfg
	if cp.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	cp.caFile = filepath.Join(cp.Dir, "ca.crt")
	if err := os.WriteFile(cp.caFile, cfg.CAData, 0o644); err != nil {
		return err
	}
	cp.Kubeconfig = filepath.Join(cp.Dir, "kubeconfigs", "admin.kubeconfig")
	return writeKubeconfig(cp.Kubeconfig, cfg, "")
}

// apiServerFlags sets kube-apiserver's flags beyond envtest's: the
// admission plugins, the Service range, the real node's authorization,
// request limits, profiling and, when asked for, the audit of watches.
func (cp *ControlPlane) apiServerFlags(args *envtest.Arguments, serviceRange string) error {
	// envtest turns the ServiceAccount admission plugin off because it runs
	// no controller manager; here one runs, so keep the real default set.
	args.Disable("disable-admission-plugins")
	args.Set("service-cluster-ip-range", serviceRange)
	if cp.opts.RealNode {
		// The kubelet is reached on its node IP: the node's name resolves
		// nowhere. And it acts as a node: the Node authorizer and
		// NodeRestriction, as in a kubeadm cluster, not system:masters.
		args.Set("kubelet-preferred-address-types", "InternalIP")
		args.Set("authorization-mode", "Node,RBAC")
		args.Set("enable-admission-plugins", "NodeRestriction")
	}
	args.Set("max-requests-inflight", "800")
	args.Set("max-mutating-requests-inflight", "400")
	args.Set("profiling", strconv.FormatBool(cp.profiling))
	if os.Getenv("KUBECTL_FLOWS_HARNESS_AUDIT_WATCHES") == "1" {
		policy, err := writeWatchAuditPolicy(cp.Dir)
		if err != nil {
			return err
		}
		args.Set("audit-policy-file", policy)
		args.Set("audit-log-path", WatchAuditLog(cp.Dir))
		args.Set("audit-log-format", "json")
	}
	return nil
}

// RestartAPIServer kills kube-apiserver (SIGKILL: a crash, as the OOM
// killer or a lost node makes it; requests in flight get no answer, even
// those whose write landed) and starts it again with the same port,
// certificates, flags and etcd, then waits until it answers /readyz.
// Clients keep working with the configs and kubeconfigs they have; their
// requests fail while it is down and their watches end. It returns how long
// the API server was away. Not safe to call concurrently with Stop.
//
// Not SIGTERM: with the components and a reconciler connected, the API
// server's graceful shutdown outlasted envtest's 15 s stop timeout here.
func (cp *ControlPlane) RestartAPIServer(ctx context.Context) (time.Duration, error) {
	api := cp.env.ControlPlane.APIServer
	t0 := time.Now()
	// Its own --cert-dir, a whole argument (NUL-ended in /proc/PID/cmdline):
	// other components name files inside that directory, never it.
	pids := processesMentioning("--cert-dir=" + api.CertDir + "\x00")
	if len(pids) != 1 {
		return 0, fmt.Errorf("restarting kube-apiserver: found %d processes of it (%v), want 1", len(pids), pids)
	}
	killAll(pids)
	var err error
	// On the spawner's thread, as at Start: the restarted process's
	// parent-death signal then means what the first one's did.
	cp.spawn.do(func() {
		// Stop reaps the killed process and resets envtest's state.
		if err = api.Stop(); err != nil {
			err = fmt.Errorf("stopping kube-apiserver: %w", err)
			return
		}
		if err = api.Start(); err != nil {
			err = fmt.Errorf("starting kube-apiserver again: %w", err)
		}
	})
	if err != nil {
		return time.Since(t0), err
	}
	err = WaitFor(ctx, 60*time.Second, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
	if err != nil {
		return time.Since(t0), fmt.Errorf("kube-apiserver not ready after its restart: %w", err)
	}
	d := time.Since(t0)
	cp.opts.Logf("harness: kube-apiserver killed and restarted, ready again after %v", d.Round(10*time.Millisecond))
	return d, nil
}

// userKubeconfig provisions a client-certificate user and writes its
// kubeconfig into the run directory.
func (cp *ControlPlane) userKubeconfig(file, name string, groups ...string) (string, error) {
	cfg, err := cp.RESTConfigForUser(name, groups)
	if err != nil {
		return "", err
	}
	path := filepath.Join(cp.Dir, "kubeconfigs", file)
	return path, writeKubeconfig(path, cfg, "")
}

func (cp *ControlPlane) startControllerManager() error {
	kubeconfig, err := cp.userKubeconfig("kube-controller-manager.kubeconfig", "system:kube-controller-manager")
	if err != nil {
		return err
	}
	return cp.startServing("kube-controller-manager", func(port int) []string {
		return []string{
			"--kubeconfig=" + kubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--cert-dir=" + filepath.Join(cp.Dir, "kcm"),
			"--leader-elect=false",
			// Each controller runs as its own ServiceAccount with the
			// bootstrap RBAC roles, as in a kubeadm cluster.
			"--use-service-account-credentials=true",
			"--root-ca-file=" + cp.caFile,
			// envtest's service-account signing key: the legacy
			// token-Secret controller signs with it.
			"--service-account-private-key-file=" + filepath.Join(cp.Dir, "apiserver", "sa-signer.key"),
			"--controllers=" + strings.Join(Controllers, ","),
			"--kube-api-qps=" + strconv.Itoa(componentQPS),
			"--kube-api-burst=" + strconv.Itoa(componentBurst),
			"--concurrent-job-syncs=20",
			"--concurrent-cron-job-syncs=10",
			"--concurrent-ttl-after-finished-syncs=10",
			"--concurrent-namespace-syncs=20",
			// Pod GC keeps a cluster's finished pods under 12,500 by
			// deleting the oldest. make bench keeps every round's pods,
			// and past that count the deletes of earlier rounds' pods
			// landed in later rounds' measurements; no test comes near.
			"--terminated-pod-gc-threshold=1000000",
			"--node-monitor-period=2s",
			"--profiling=" + strconv.FormatBool(cp.profiling),
			// The component has no authorization kubeconfig, so it serves
			// only these paths, to anyone on loopback (/debug/pprof only
			// with profiling on).
			"--authorization-always-allow-paths=/healthz,/readyz,/livez,/debug/pprof/*",
			"--v=" + strconv.Itoa(cp.opts.Verbosity),
		}
	})
}

func (cp *ControlPlane) startScheduler() error {
	kubeconfig, err := cp.userKubeconfig("kube-scheduler.kubeconfig", "system:kube-scheduler")
	if err != nil {
		return err
	}
	config := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: %d
  burst: %d
leaderElection:
  leaderElect: false
`, kubeconfig, componentQPS, componentBurst)
	configPath := filepath.Join(cp.Dir, "scheduler", "config.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return err
	}
	return cp.startServing("kube-scheduler", func(port int) []string {
		return []string{
			"--config=" + configPath,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--cert-dir=" + filepath.Join(cp.Dir, "scheduler"),
			"--v=" + strconv.Itoa(cp.opts.Verbosity),
		}
	})
}

// startServing starts a component serving /healthz on a free port and waits
// until it is healthy. If it exits first (another process may have taken
// the port in between), it tries again on another port.
func (cp *ControlPlane) startServing(name string, args func(port int) []string) error {
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return err
		}
		p, err := cp.startProc(name, filepath.Join(cp.BinDir, name), args(port), nil)
		if err != nil {
			return err
		}
		cp.mu.Lock()
		p.port = port
		cp.mu.Unlock()
		err = cp.waitHealthy(p, port)
		if err == nil || !p.exited() {
			return err
		}
		lastErr = err
		cp.mu.Lock()
		cp.procs = slices.DeleteFunc(cp.procs, func(q *proc) bool { return q == p })
		cp.mu.Unlock()
	}
	return lastErr
}

func (cp *ControlPlane) startKwok() error {
	kubeconfig, err := cp.userKubeconfig("kwok.kubeconfig", "kwok", "system:masters")
	if err != nil {
		return err
	}
	cfg, err := kwokConfig(cp.BinDir, cp.opts)
	if err != nil {
		return err
	}
	configPath := filepath.Join(cp.Dir, "kwok", "kwok.yaml")
	if err := os.WriteFile(configPath, cfg, 0o644); err != nil {
		return err
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--config=" + configPath,
		// Only the fake nodes: the real node has a kubelet.
		"--manage-nodes-with-label-selector=" + kwokNodeSelector,
		"--node-lease-duration-seconds=40",
	}
	// kwok also reads ~/.kwok/kwok.yaml when it exists; keep a developer's
	// own out of the tests.
	_, err = cp.startProc("kwok", filepath.Join(cp.BinDir, "kwok"), args, []string{"HOME=" + filepath.Join(cp.Dir, "kwok")})
	return err
}

// loopbackClient is a client of the components' secure ports, whose
// certificates they sign themselves on loopback; timeout 0 for none.
func loopbackClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // self-signed, loopback
	}
}

// waitHealthy polls a component's /healthz until it answers ok.
func (cp *ControlPlane) waitHealthy(p *proc, port int) error {
	client := loopbackClient(time.Second)
	defer client.CloseIdleConnections()
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited: %v", p.name, p.err)
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy at %s after 60s", p.name, url)
}

// kwokNodeSelector selects the nodes kwok plays the kubelet of.
const kwokNodeSelector = "type=kwok"

// createNodes registers the fake nodes. kwok takes the nodes its label
// selector (kwokNodeSelector) matches and keeps them Ready with a lease, as
// a kubelet would.
func (cp *ControlPlane) createNodes(ctx context.Context) error {
	for i := range cp.opts.Nodes {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name,
				Labels: map[string]string{
					"kubernetes.io/hostname": name,
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     "amd64",
					"type":                   "kwok",
				},
				Annotations: map[string]string{
					"kwok.x-k8s.io/node":           "fake",
					"node.alpha.kubernetes.io/ttl": "0",
				},
			},
			Status: corev1.NodeStatus{
				Capacity:    cp.opts.NodeAllocatable.DeepCopy(),
				Allocatable: cp.opts.NodeAllocatable.DeepCopy(),
			},
		}
		if _, err := cp.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
		cp.Nodes = append(cp.Nodes, name)
	}
	return nil
}

// waitReady waits for every node to be Ready and schedulable and for the
// ServiceAccount controller to have made default/default.
func (cp *ControlPlane) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last string
	for {
		last = cp.notReady(ctx)
		if last == "" {
			return nil
		}
		for _, p := range cp.snapshotProcs() {
			if p.exited() {
				return fmt.Errorf("%s exited: %v", p.name, p.err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("control plane not ready: %s", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (cp *ControlPlane) snapshotProcs() []*proc {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return append([]*proc(nil), cp.procs...)
}

// notReady says what is not ready yet, or "".
func (cp *ControlPlane) notReady(ctx context.Context) string {
	nodes, err := cp.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "listing nodes: " + err.Error()
	}
	ready, want := 0, cp.opts.Nodes
	for _, n := range nodes.Items {
		if !nodeReady(&n) {
			continue
		}
		ready++
		if rn := cp.RealNode; rn != nil && n.Name == rn.Name && rn.ReadyAfter == 0 {
			rn.ReadyAfter = time.Since(rn.started)
		}
	}
	if cp.RealNode != nil {
		want++
	}
	if ready < want {
		return fmt.Sprintf("%d of %d nodes ready and untainted", ready, want)
	}
	if _, err := cp.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return "ServiceAccount default/default: " + err.Error()
	}
	return ""
}

func (cp *ControlPlane) realNodeSummary() string {
	if cp.RealNode == nil {
		return ""
	}
	return fmt.Sprintf(" and real node %s (%s, Ready %v after its kubelet started)",
		cp.RealNode.Name, cp.RealNode.IP, cp.RealNode.ReadyAfter.Round(10*time.Millisecond))
}

func nodeReady(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Stop tears the control plane down: kwok, scheduler and controller manager
// first, then kube-apiserver and etcd; anything still alive with a command
// line pointing into the run directory is killed; then the run directory
// goes (unless Options.KeepDir). Safe to call more than once.
func (cp *ControlPlane) Stop() error {
	return cp.stop(false)
}

func (cp *ControlPlane) stop(failedStart bool) error {
	cp.stopOnce.Do(func() {
		t0 := time.Now()
		var errs []error
		var wg sync.WaitGroup
		procs := cp.snapshotProcs()
		if cp.RealNode != nil {
			cp.RealNode.stopForwarding()
		}
		perr := make([]error, len(procs))
		for i, p := range procs {
			wg.Add(1)
			go func() { defer wg.Done(); perr[i] = p.stop(5 * time.Second) }()
		}
		wg.Wait()
		errs = append(errs, perr...)
		if cp.env != nil {
			if err := cp.env.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stopping etcd and kube-apiserver: %w", err))
			}
		}
		// The real node's containers before the shims that reap them.
		if err := cleanRunDirNode(cp.Dir); err != nil {
			errs = append(errs, err)
		}
		if err := killRunDir(cp.Dir); err != nil {
			errs = append(errs, err)
		}
		if cp.RealNode != nil && cp.RealNode.slotLock != nil {
			cp.RealNode.slotLock.Close() // the slot is free again
		}
		cp.spawn.close()
		keep := cp.opts.KeepDir || failedStart
		if !keep {
			if err := removeRunDir(cp.Dir); err != nil {
				errs = append(errs, err)
			}
		} else {
			// Leave the logs for a person (not etcd's 60MB of preallocated
			// WAL, nor the real node's images); a Sweep an hour from now
			// takes them.
			_ = os.RemoveAll(filepath.Join(cp.Dir, "etcd"))
			if len(mountsUnder(cp.Dir)) == 0 {
				_ = os.RemoveAll(filepath.Join(cp.nodeDir(), "containerd"))
			}
			abandon(cp.Dir)
			cp.opts.Logf("harness: kept %s", cp.Dir)
		}
		cp.stopErr = errors.Join(errs...)
		if cp.opts.Logf != nil && !failedStart {
			cp.opts.Logf("harness: control plane stopped in %v", time.Since(t0).Round(10*time.Millisecond))
		}
	})
	return cp.stopErr
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
// Ports handed out by this process are not handed out again.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsUsed[port] {
			portsUsed[port] = true
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

func randSuffix(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// WaitFor polls cond every 100ms until it returns true, or returns an error
// (a NotFound API error counts as "not yet"), or ctx ends or timeout passes.
func WaitFor(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %v: %w", timeout, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
