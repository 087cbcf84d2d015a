//go:build linux

package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts a child in its own process group (so a terminal's ^C
// reaches the harness first and teardown stays orderly) and has the kernel
// SIGKILL it the moment the thread that started it dies. The harness starts
// every child from one OS thread it locks for the life of the control plane,
// so "the thread dies" means "the process running the harness died".
func sysProcAttr() *syscall.SysProcAttr {
	if noDeathSignal() {
		return &syscall.SysProcAttr{Setpgid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// processStartTime returns a process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat); with the pid it identifies a process even
// after its pid is reused.
func processStartTime(pid int) (uint64, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(data[i+1:]))
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0, false
	}
	t, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, false
	}
	// A zombie still has a stat file but is dead for our purposes.
	if fields[0] == "Z" || fields[0] == "X" {
		return 0, false
	}
	return t, true
}

// processesMentioning lists the pids of live control-plane components
// (etcd, kube-apiserver, ...) whose command line contains s. The harness
// passes a path inside its run directory to every process it starts, so this
// finds all of them, whoever their parent is.
func processesMentioning(s string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	needle := []byte(s)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, needle) {
			continue
		}
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		if !componentNames[filepath.Base(string(argv0))] {
			continue
		}
		if _, alive := processStartTime(pid); !alive {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// killAll sends SIGKILL to each pid and to the process group it leads.
func killAll(pids []int) {
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

const procScanSupported = true
