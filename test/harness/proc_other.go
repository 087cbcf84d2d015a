//go:build !linux

package harness

import (
	"os"
	"syscall"
)

// sysProcAttr puts a child in its own process group. Outside Linux there is
// no parent-death signal: a harness killed outright leaves its children
// behind until Sweep (run by the next Start) finds them... which it cannot
// do without /proc either, so on these systems stop the harness cleanly.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func processStartTime(pid int) (uint64, bool) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return 0, false
	}
	if p.Signal(syscall.Signal(0)) != nil {
		return 0, false
	}
	return 0, true
}

func processesMentioning(string) []int { return nil }

func killAll(pids []int) {
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

const procScanSupported = false
