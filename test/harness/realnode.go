package harness

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The real node
//
// With Options.RealNode the control plane gets one node that runs real
// containers: a kubelet of the same version as the control plane and a
// containerd of its own (Debian's containerd, runc and
// containernetworking-plugins; root only). Each control plane's real node
// has its own containerd (socket, root and state in the run directory), ports,
// cgroup root, bridge, pod subnet and node IP, so two test binaries can run
// one each at once. No registry is involved: the pause and busybox images are
// built in Go (package image) and imported into its containerd, as are
// Options.Images; pods name them with imagePullPolicy Never or IfNotPresent.
//
// Beside kwok nodes (Options.Nodes > 0) the real node carries the taint
// TaintRealNode, so pods meant for kwok never land on it; OnRealNode puts a
// pod there. Alone (Options.Nodes 0, the default with RealNode) it carries
// no taint and every pod runs for real.
//
// Stop (and, after a killed run, the next Start's Sweep) removes all of it:
// kubelet, containerd, shims and every process in the node's cgroups, the
// mounts under the run directory (deepest first), the bridge and the pods'
// veths, the cgroups, and the CNI plugins' cached results.

const (
	// RealNodeName is the real node's name.
	RealNodeName = "real-node"
	// LabelRealNode is "true" on the real node; OnRealNode selects it.
	LabelRealNode = "harness.kubectl-flows.dev/real-node"
	// TaintRealNode is the key of the NoSchedule taint the real node
	// carries when kwok nodes run beside it.
	TaintRealNode = LabelRealNode
)

// RealNode describes a control plane's real node.
type RealNode struct {
	// Name is the Node's name (RealNodeName).
	Name string
	// IP is its InternalIP: the pods' gateway on the bridge the harness made
	// for it (the first address of PodSubnet). The API server reaches the
	// kubelet there (logs, exec).
	IP string
	// PodSubnet is the /24 its pods take their IPs from.
	PodSubnet string
	// ContainerdAddress is its containerd's socket (CRI namespace k8s.io):
	// ctr -n k8s.io --address ContainerdAddress ...
	ContainerdAddress string
	// APIServiceIP is the kubernetes Service's IP, where its pods find the
	// API server (KUBERNETES_SERVICE_HOST, port 443) as in any cluster: an
	// address of this host, on a bridge of its own, whose port 443 the
	// harness forwards to the API server. Each control plane with a real
	// node has its own service range, so its own address.
	APIServiceIP string
	// ReadyAfter is how long the Node took to be Ready after its kubelet
	// started.
	ReadyAfter time.Duration

	state    nodeState
	slotLock *os.File
	started  time.Time
	// forwarder listens on APIServiceIP:443; closed by Stop, which also
	// closes forwarded, the connections it made: the pods' watches would
	// otherwise hold kube-apiserver's graceful stop past its timeout.
	forwarder net.Listener
	forwarded chan struct{}
}

// nodeState is what Stop and Sweep need to remove a real node; it is
// written into the run directory before any of it is made.
type nodeState struct {
	Slot          int    `json:"slot"`
	Bridge        string `json:"bridge"`
	ServiceBridge string `json:"serviceBridge"`
	CgroupRoot    string `json:"cgroupRoot"`
	Network       string `json:"network"`
}

// nodeDir holds the real node's files: configs, containerd's root and
// state, the kubelet's directories, state.json.
func (cp *ControlPlane) nodeDir() string { return filepath.Join(cp.Dir, "node") }

func stateFile(runDir string) string { return filepath.Join(runDir, "node", "state.json") }

// OnRealNode makes a pod run on the real node: a node selector for it and a
// toleration of its taint.
func OnRealNode(spec *corev1.PodSpec) {
	if spec.NodeSelector == nil {
		spec.NodeSelector = map[string]string{}
	}
	spec.NodeSelector[LabelRealNode] = "true"
	for _, t := range spec.Tolerations {
		if t.Key == TaintRealNode {
			return
		}
	}
	spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
		Key: TaintRealNode, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
	})
}

// forwardAPIService forwards connections to the kubernetes Service's IP,
// port 443, to the API server, as kube-proxy would (there is none). It runs
// in this process: it stops with it.
func (cp *ControlPlane) forwardAPIService() error {
	u, err := url.Parse(cp.Config.Host)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(cp.RealNode.APIServiceIP, "443"))
	if err != nil {
		return fmt.Errorf("real node: forwarding the kubernetes Service: %w", err)
	}
	cp.RealNode.forwarder, cp.RealNode.forwarded = l, make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed by Stop
			}
			go forwardConn(c, u.Host, cp.RealNode.forwarded)
		}
	}()
	return nil
}

// stopForwarding closes the forwarder and the connections it made.
func (rn *RealNode) stopForwarding() {
	if rn.forwarder != nil {
		rn.forwarder.Close()
		close(rn.forwarded)
	}
}

func forwardConn(c net.Conn, backend string, stop <-chan struct{}) {
	defer c.Close()
	b, err := net.DialTimeout("tcp", backend, 5*time.Second)
	if err != nil {
		return
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	select { // either side closing ends both, as does Stop
	case <-done:
	case <-stop:
	}
}

// realNodeHowTo says how to get a real node, for skip and error messages.
const realNodeHowTo = "a real node needs Linux, root, and Debian's containerd, runc and containernetworking-plugins " +
	"(as root: apt-get update && apt-get install -y containerd runc containernetworking-plugins)"

// cniBinDir is where Debian's containernetworking-plugins puts the plugins.
const cniBinDir = "/usr/lib/cni"

// RealNodeAvailable says why a real node cannot start on this machine, or
// returns nil. It does not build the kubelet (Start does, with the rest).
func RealNodeAvailable() error {
	var lacks []string
	if os.Geteuid() != 0 {
		lacks = append(lacks, fmt.Sprintf("not root (uid %d)", os.Geteuid()))
	}
	for _, prog := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "ip"} {
		if _, err := exec.LookPath(prog); err != nil {
			lacks = append(lacks, "no "+prog+" on PATH")
		}
	}
	for _, plugin := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(cniBinDir + "/" + plugin); err != nil {
			lacks = append(lacks, "no "+cniBinDir+"/"+plugin)
		}
	}
	if err := realNodePlatform(); err != nil {
		lacks = append(lacks, err.Error())
	}
	if len(lacks) > 0 {
		return fmt.Errorf("%s; %s", strings.Join(lacks, ", "), realNodeHowTo)
	}
	return nil
}

// ImportImages imports image tarballs (docker save or OCI archive, what
// `ctr images import` takes) into the real node's containerd, under the
// names they carry. Start imports Options.Images this way.
func (cp *ControlPlane) ImportImages(ctx context.Context, tarballs ...string) error {
	if cp.RealNode == nil {
		return fmt.Errorf("importing images %v: the control plane has no real node (Options.RealNode)", tarballs)
	}
	return ImportImages(ctx, cp.RealNode.ContainerdAddress, tarballs...)
}

// ImportImages imports image tarballs into the containerd at address (a
// real node's RealNode.ContainerdAddress), in the namespace the kubelet
// uses; for a process that did not start the node (flows-cluster import).
func ImportImages(ctx context.Context, address string, tarballs ...string) error {
	for _, t := range tarballs {
		out, err := exec.CommandContext(ctx, "ctr", "-n", "k8s.io", "--address", address,
			"images", "import", t).CombinedOutput()
		if err != nil {
			return fmt.Errorf("importing image %s into the real node: %v: %s", t, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
