//go:build linux

package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// realNodePlatform says what this Linux host lacks for a real node.
func realNodePlatform() error {
	if len(cgroupMounts()) == 0 {
		return errors.New("no cgroup filesystem mounted")
	}
	return nil
}

// Slots number the real nodes that run at once on this machine; a slot
// gives the bridge, the node IP and the pod subnet. A slot is held by an
// flock on its file, which the kernel releases when the holder dies.
const maxSlots = 250

func slotDir() string { return filepath.Join(runRoot(), "real-node-slots") }

func bridgeName(slot int) string { return "flows-br" + strconv.Itoa(slot) }

func serviceBridgeName(slot int) string { return "flows-svc" + strconv.Itoa(slot) }

// allocateSlot takes the lowest free slot whose bridges do not exist (one
// that does is a leftover Sweep could not remove).
func allocateSlot() (int, *os.File, error) {
	if err := os.MkdirAll(slotDir(), 0o755); err != nil {
		return 0, nil, err
	}
	for slot := 1; slot <= maxSlots; slot++ {
		f, err := os.OpenFile(filepath.Join(slotDir(), strconv.Itoa(slot)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return 0, nil, err
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			continue
		}
		_, err1 := net.InterfaceByName(bridgeName(slot))
		_, err2 := net.InterfaceByName(serviceBridgeName(slot))
		if err1 == nil || err2 == nil {
			f.Close()
			continue
		}
		return slot, f, nil
	}
	return 0, nil, fmt.Errorf("all %d real-node slots are taken (see %s)", maxSlots, slotDir())
}

// prepareRealNode makes what the API server needs before it starts (the
// node IP it is told to reach the kubelet on) and records what is made, so
// Stop and Sweep can remove it whatever fails later.
func (cp *ControlPlane) prepareRealNode() error {
	dir := cp.nodeDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sock := filepath.Join(dir, "containerd.sock")
	// A unix socket path has room for 107 bytes; containerd adds ".ttrpc".
	if len(sock)+len(".ttrpc") > 107 {
		return fmt.Errorf("real node: socket path %s is too long for a unix socket; set TMPDIR to a shorter directory", sock)
	}
	slot, lock, err := allocateSlot()
	if err != nil {
		return fmt.Errorf("real node: %w", err)
	}
	st := nodeState{
		Slot:          slot,
		Bridge:        bridgeName(slot),
		ServiceBridge: serviceBridgeName(slot),
		CgroupRoot:    "/kubectl-flows-" + filepath.Base(cp.Dir),
		Network:       "kubectl-flows-" + filepath.Base(cp.Dir),
	}
	cp.RealNode = &RealNode{
		Name:              RealNodeName,
		IP:                fmt.Sprintf("10.245.%d.1", slot),
		PodSubnet:         fmt.Sprintf("10.245.%d.0/24", slot),
		ContainerdAddress: sock,
		APIServiceIP:      fmt.Sprintf("10.96.%d.1", slot),
		state:             st,
		slotLock:          lock,
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.WriteFile(stateFile(cp.Dir), data, 0o644); err != nil {
		return err
	}
	if err := createBridge(st.Bridge, cp.RealNode.IP+"/24"); err != nil {
		return err
	}
	// The CNI bridge plugin refuses a bridge with a second IPv4 address:
	// the Service IP gets a bridge of its own, with no ports.
	if err := createBridge(st.ServiceBridge, cp.RealNode.APIServiceIP+"/32"); err != nil {
		return err
	}
	return createCgroupRoot(st.CgroupRoot)
}

// startRealNode starts containerd, imports the images and starts the
// kubelet, which registers the Node; waitReady waits for it.
func (cp *ControlPlane) startRealNode(ctx context.Context) error {
	rn := cp.RealNode
	cfg, err := containerdConfig(cp.nodeDir(), rn.ContainerdAddress)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(cp.nodeDir(), "containerd.toml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return err
	}
	if err := writeCNIConfig(cp.nodeDir(), rn); err != nil {
		return err
	}
	if err := cp.forwardAPIService(); err != nil {
		return err
	}
	p, err := cp.startProc("containerd", "containerd", []string{"--config", cfgPath}, nil)
	if err != nil {
		return err
	}
	if err := waitSocket(ctx, p, rn.ContainerdAddress); err != nil {
		return err
	}
	t0 := time.Now()
	images, err := nodeImages(ctx, cp.nodeDir())
	if err != nil {
		return fmt.Errorf("real node: building its images: %w", err)
	}
	tBuilt := time.Now()
	if err := cp.ImportImages(ctx, append(images, cp.opts.Images...)...); err != nil {
		return err
	}
	cp.opts.Logf("harness: real node images ready in %v, %d imported in %v",
		tBuilt.Sub(t0).Round(10*time.Millisecond), len(images)+len(cp.opts.Images), time.Since(tBuilt).Round(10*time.Millisecond))
	rn.started = time.Now()
	return cp.startKubelet()
}

// waitSocket waits until containerd answers on its socket.
func waitSocket(ctx context.Context, p *proc, sock string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("containerd exited: %v", p.err)
		}
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("containerd not answering on %s after 30s", sock)
}

func (cp *ControlPlane) startKubelet() error {
	rn := cp.RealNode
	kubeconfig, err := cp.userKubeconfig("kubelet.kubeconfig", "system:node:"+rn.Name, "system:nodes")
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	healthz, err := freePort()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(cp.nodeDir(), "kubelet.yaml")
	if err := os.WriteFile(cfgPath, kubeletConfig(cp.nodeDir(), rn, port, healthz, cp.opts.Nodes > 0), 0o644); err != nil {
		return err
	}
	args := []string{
		"--config=" + cfgPath,
		"--kubeconfig=" + kubeconfig,
		"--hostname-override=" + rn.Name,
		"--node-ip=" + rn.IP,
		"--node-labels=" + LabelRealNode + "=true",
		"--root-dir=" + filepath.Join(cp.nodeDir(), "kubelet"),
		"--cert-dir=" + filepath.Join(cp.nodeDir(), "kubelet-pki"),
		"--v=" + strconv.Itoa(cp.opts.Verbosity),
	}
	_, err = cp.startProc("kubelet", filepath.Join(cp.BinDir, "kubelet"), args, nil)
	return err
}

// ip runs the ip command (iproute2).
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// createBridge makes a bridge with an address of this host on it. For the
// bridge the CNI bridge plugin attaches the pods to, that is the node IP:
// the pods' gateway, which the plugin would add itself (it refuses a bridge
// with any other IPv4 address), and an address that is not loopback, so the
// API server can reach the kubelet there.
func createBridge(name, addr string) error {
	if err := ip("link", "add", "name", name, "type", "bridge"); err != nil {
		return err
	}
	if err := ip("addr", "add", addr, "dev", name); err != nil {
		return err
	}
	return ip("link", "set", name, "up")
}

// createCgroupRoot makes the kubelet's cgroupRoot in every cgroup hierarchy
// (the kubelet wants it to exist). A new cpuset cgroup starts with no CPUs
// and no memory nodes: give it the hierarchy root's.
func createCgroupRoot(root string) error {
	for _, m := range cgroupMounts() {
		dir := filepath.Join(m, root)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("real node: creating cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(m, f))
			if err != nil {
				continue // not the cpuset hierarchy
			}
			if err := os.WriteFile(filepath.Join(dir, f), v, 0o644); err != nil {
				return fmt.Errorf("real node: %s: %w", filepath.Join(dir, f), err)
			}
		}
	}
	return nil
}
