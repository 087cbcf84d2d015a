// Package harness runs a real Kubernetes control plane for kubectl-flows'
// end-to-end tests, as local processes on 127.0.0.1 (and, with
// Options.RealNode, one node running real containers: see realnode.go):
//
//   - etcd and kube-apiserver, started through controller-runtime's envtest
//     (certificates, client-certificate users, service-account signing keys);
//   - kube-controller-manager with the controllers in Controllers (Jobs,
//     CronJobs, garbage collection, TTL-after-finished, namespaces, service
//     accounts, node lifecycle, ...);
//   - kube-scheduler;
//   - kwok, which plays the kubelet of Options.Nodes fake nodes: it keeps the
//     nodes Ready and moves pods bound to them through Pending, Running and
//     (for pods of Jobs) Succeeded, as its Stage objects say. See stages.go for
//     the knobs a test has over that (AnnotateDelay, FailAfter, Stuck,
//     Unschedulable).
//
// The binaries come from $KUBECTL_FLOWS_TESTBIN or test/tools/build.sh
// (BinDir). A test binary normally shares one control plane:
//
//	var cp *harness.ControlPlane
//
//	func TestMain(m *testing.M) { harness.Main(m, harness.Options{}, &cp) }
//
//	func TestX(t *testing.T) {
//		ns := cp.NewNamespace(t)
//		... cp.Client, cp.Kubeconfig, cp.KubeconfigForServiceAccount(ctx, ns, "sa") ...
//	}
//
// Nothing outlives its owner: every process gets SIGKILL from the kernel
// when the process that started it dies (Linux), Stop kills whatever still
// points into the run directory, and Start sweeps run directories of dead
// owners (Sweep), with what their real nodes left: containers, shims,
// mounts, network interfaces and cgroups.
package harness
