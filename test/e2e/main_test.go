// Package e2e drives kubectl-flows' real binaries against a real control
// plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok, started by test/harness on loopback).
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// cp is the control plane every test in the package shares; tests keep
// apart by namespace.
var cp *harness.ControlPlane

// binDir holds kubectl-flows and flows-reconciler as built from this tree.
var binDir string

// Every test has a namespace of its own on the one control plane, so the
// tests that mostly wait (for pods, ticks, deliveries, a browser) call
// t.Parallel and run together once the others are done: `make e2e` runs four
// at a time, which took the package from about ten and a half minutes to
// about seven.
// These stay serial: the bursts (TestBurstRespectsEveryLimit,
// TestKillDuringBurst), which use the machine's cores and would only slow
// each other; TestAPIServerRestartDuringBurst, which restarts the API server
// every test shares; the real-node tests, which share one node; and the
// tests whose assertions are windows of time (TestTagRateAcrossKill's rate
// within 5%, TestBackOffFreesSlot's 2 s, TestRunTimeoutFromPodStart's
// 9–13 s, TestNotifyFailedRun's and TestNotifySLAHeldPending's deliveries,
// TestLeaderElection's lease, TestScheduleFiresOncePerTickAcrossRestart's
// kill between ticks, TestWaitingPositions' order), which other tests' load
// could push out.
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if binDir, err = buildBinaries(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer stopRealCluster()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err = harness.Start(ctx, harness.Options{Nodes: 4})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the control plane:", err)
		return 1
	}
	defer cp.Stop()
	return m.Run()
}

// buildBinaries returns KUBECTL_FLOWS_BIN (set by `make e2e` after `make
// build`), or builds the binaries into a temporary directory.
func buildBinaries() (string, error) {
	if dir := os.Getenv("KUBECTL_FLOWS_BIN"); dir != "" {
		return dir, nil
	}
	root, err := harness.RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "kubectl-flows-e2e-bin-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/...")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building binaries: %w", err)
	}
	return dir, nil
}
