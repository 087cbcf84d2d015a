//go:build linux

package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// leakHelperEnv makes this test binary a helper that starts a control plane
// and waits to be killed (see TestMain in harness_test.go).
const leakHelperEnv = "KUBECTL_FLOWS_HARNESS_LEAK_HELPER"

// TestLeakHelper is not a test: TestKilledOwnerLeavesNothing runs this
// binary with only it selected, as a process to kill -9.
func TestLeakHelper(t *testing.T) {
	if os.Getenv(leakHelperEnv) == "" {
		t.Skip("helper process of TestKilledOwnerLeavesNothing")
	}
	realNode := os.Getenv(leakHelperEnv) == "real-node"
	ctx := context.Background()
	cp, err := Start(ctx, Options{Nodes: 1, RealNode: realNode, Logf: func(string, ...any) {}})
	if err == nil && realNode {
		// A pod running when the owner dies: containers, shims, mounts and
		// its veth are left for Sweep.
		_, err = cp.Client.CoreV1().Pods("default").Create(ctx, sleeperPod("default"), metav1.CreateOptions{})
		if err == nil {
			err = cp.waitRunning(ctx, "default", "sleeper")
		}
	}
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("READY %s\n", cp.Dir)
	time.Sleep(3 * time.Minute)
	os.Exit(1) // never reached: the test kills it
}

// TestKilledOwnerLeavesNothing kill -9s a process running a control plane
// and checks that every component process dies with it and that their ports
// are free again; then that Sweep removes the run directory. The second case
// turns the parent-death signal off and checks that Sweep alone kills the
// orphans. The third runs a real node with a pod: its kubelet and
// containerd die with the owner; the pod's containers and shims, its
// mounts, veth and cgroups, and the bridge stay until Sweep removes them.
func TestKilledOwnerLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		deathSig  bool
		wantAlive bool
		realNode  bool
	}{
		{name: "parent-death-signal", deathSig: true},
		{name: "sweep-only", deathSig: false, wantAlive: true},
		{name: "real-node", deathSig: true, realNode: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			helper := "1"
			if tc.realNode {
				RequireRealNode(t)
				helper = "real-node"
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestLeakHelper$", "-test.count=1", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), leakHelperEnv+"="+helper)
			if !tc.deathSig {
				cmd.Env = append(cmd.Env, envNoDeathSignal+"=1")
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

			lines := make(chan string)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var dir string
			timeout := time.After(2 * time.Minute)
			for dir == "" {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatal("helper exited before its control plane was ready")
					}
					if rest, ok := strings.CutPrefix(l, "READY "); ok {
						dir = rest
					} else if strings.HasPrefix(l, "ERROR ") {
						t.Fatal(l)
					}
				case <-timeout:
					t.Fatal("helper's control plane not ready in 2 minutes")
				}
			}
			go func() {
				for range lines { // drain
				}
			}()

			// The pods' shims are not the owner's children: they outlive
			// it, for Sweep (checked with the rest of the node below).
			var pids []int
			names := map[string]bool{}
			for _, pid := range processesMentioning(dir + string(filepath.Separator)) {
				if procName(pid) != "containerd-shim-runc-v2" {
					pids = append(pids, pid)
					names[procName(pid)] = true
				}
			}
			wantNames := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
			var node nodeFootprint
			var st nodeState
			if tc.realNode {
				wantNames = append(wantNames, "kubelet", "containerd")
				data, err := os.ReadFile(stateFile(dir))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, &st); err != nil {
					t.Fatal(err)
				}
				node = footprint(dir, st)
				node.mustHaveRun(t)
			}
			for _, want := range wantNames {
				if !names[want] {
					t.Errorf("no %s among the helper's processes %v", want, names)
				}
			}
			ports := listeningPorts(pids)
			if len(ports) < 4 {
				t.Errorf("found only ports %v listening", ports)
			}
			t.Logf("helper's control plane: pids %v, ports %v", pids, ports)

			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			killed := time.Now()

			if tc.wantAlive {
				// Without the death signal the orphans live on (that is
				// what the sweep is for).
				time.Sleep(time.Second)
				if len(alive(pids)) == 0 {
					t.Fatalf("processes died without the parent-death signal; this case tests nothing")
				}
			} else {
				deadline := time.Now().Add(15 * time.Second)
				for len(alive(pids)) > 0 && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				if left := alive(pids); len(left) > 0 {
					killAll(left)
					t.Fatalf("processes %v outlived their killed owner", left)
				}
				t.Logf("all %d processes gone %v after the owner was killed", len(pids), time.Since(killed).Round(time.Millisecond))
			}

			swept, err := Sweep()
			if err != nil {
				t.Fatalf("Sweep: %v", err)
			}
			if !slices.Contains(swept, dir) {
				t.Errorf("Sweep removed %v, not %s", swept, dir)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("run directory %s still there after Sweep", dir)
			}
			if left := alive(pids); len(left) > 0 {
				killAll(left)
				t.Fatalf("processes %v alive after Sweep", left)
			}
			if tc.realNode {
				if left := node.gone(dir, st); len(left) > 0 {
					t.Errorf("left behind by the real node after Sweep: %s", strings.Join(left, "; "))
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				open := openPorts(ports)
				if len(open) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("ports %v still accept connections", open)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

func procName(pid int) string {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	return filepath.Base(argv0)
}

func alive(pids []int) []int {
	var out []int
	for _, pid := range pids {
		if _, ok := processStartTime(pid); ok {
			out = append(out, pid)
		}
	}
	return out
}

var portArg = regexp.MustCompile(`(?:127\.0\.0\.1|localhost):(\d+)|--secure-port=(\d+)`)

// listeningPorts returns the loopback ports named on the processes' command
// lines that accept connections now.
func listeningPorts(pids []int) []string {
	seen := map[string]bool{}
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		for _, m := range portArg.FindAllStringSubmatch(string(cmdline), -1) {
			p := m[1] + m[2]
			if p != "0" {
				seen[p] = true
			}
		}
	}
	var all []string
	for p := range seen {
		all = append(all, p)
	}
	slices.Sort(all)
	return openPorts(all)
}

func openPorts(ports []string) []string {
	var open []string
	for _, p := range ports {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, 500*time.Millisecond)
		if err == nil {
			c.Close()
			open = append(open, p)
		}
	}
	return open
}
