package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// envNoDeathSignal turns off the parent-death signal (and the setpriv
// wrapper around etcd and kube-apiserver). Only the harness's own leak test
// sets it, to prove that Sweep alone also cleans up.
const envNoDeathSignal = "KUBECTL_FLOWS_HARNESS_NO_PDEATHSIG"

func noDeathSignal() bool { return os.Getenv(envNoDeathSignal) == "1" }

// spawner runs functions on one locked OS thread. A child's parent-death
// signal fires when the *thread* that forked it exits, not the process, and
// the Go runtime may retire threads; starting every child from a thread that
// lives exactly as long as the control plane makes the signal mean "the
// control plane's owner is gone".
type spawner struct {
	work chan func()
}

func newSpawner() *spawner {
	s := &spawner{work: make(chan func())}
	go func() {
		runtime.LockOSThread()
		// Never unlocked: when the channel closes the goroutine returns and
		// the runtime ends the thread, which SIGKILLs any child that is
		// somehow still alive.
		for f := range s.work {
			f()
		}
	}()
	return s
}

func (s *spawner) do(f func()) {
	done := make(chan struct{})
	s.work <- func() {
		defer close(done)
		f()
	}
	<-done
}

func (s *spawner) close() { close(s.work) }

// proc is a control-plane component the harness starts itself.
type proc struct {
	name string
	port int // the secure port of a component started by startServing
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

func (cp *ControlPlane) startProc(name, path string, args []string, env []string) (*proc, error) {
	logPath := filepath.Join(cp.Dir, "logs", name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Dir = cp.Dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	p := &proc{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	cp.spawn.do(func() { err = cmd.Start() })
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	cp.mu.Lock()
	cp.procs = append(cp.procs, p)
	cp.mu.Unlock()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the component to stop, then kills its process group.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s (pid %d) did not die after SIGKILL", p.name, pid)
	}
}

// Run directories live under one root so a later run can find what an
// earlier, killed one left behind.
func runRoot() string { return filepath.Join(os.TempDir(), "kubectl-flows-harness") }

const ownerFile = "owner"

// writeOwner records which process owns a run directory: pid and start time.
func writeOwner(dir string, pid int) error {
	start, _ := processStartTime(pid)
	return os.WriteFile(filepath.Join(dir, ownerFile), fmt.Appendf(nil, "%d %d\n", pid, start), 0o644)
}

// ownerAlive reports whether the process that created a run directory still
// runs. A directory without an owner file is considered alive for a minute
// (it may be being created); one its owner marked abandoned (kept for a
// person to read the logs: Options.KeepDir, or a failed start) for an hour.
func ownerAlive(dir string) bool {
	path := filepath.Join(dir, ownerFile)
	data, err := os.ReadFile(path)
	if err != nil {
		fi, statErr := os.Stat(dir)
		return statErr == nil && time.Since(fi.ModTime()) < time.Minute
	}
	if strings.TrimSpace(string(data)) == abandoned {
		fi, statErr := os.Stat(path)
		return statErr == nil && time.Since(fi.ModTime()) < time.Hour
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return false
	}
	pid, err1 := strconv.Atoi(fields[0])
	want, err2 := strconv.ParseUint(fields[1], 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	got, alive := processStartTime(pid)
	if !alive {
		return false
	}
	return !procScanSupported || got == want
}

const abandoned = "abandoned"

// abandon marks a stopped control plane's kept run directory as free for
// Sweep to remove an hour from now.
func abandon(dir string) {
	_ = os.WriteFile(filepath.Join(dir, ownerFile), []byte(abandoned+"\n"), 0o644)
}

// Sweep kills processes left behind by control planes whose owning process
// died without stopping them (kill -9, a test binary's panic or timeout) and
// deletes their run directories. Start calls it; flows-cluster down calls it
// too. It only touches run directories under the harness's own root in the
// temp dir, and only processes whose command line points into one of them.
// It returns the run directories it removed.
func Sweep() ([]string, error) {
	root := runRoot()
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var swept []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "run-") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if ownerAlive(dir) {
			continue
		}
		// The real node's containers before the shims that reap them.
		if err := cleanRunDirNode(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := killRunDir(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := removeRunDir(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		swept = append(swept, dir)
	}
	return swept, errors.Join(errs...)
}

// killRunDir SIGKILLs every process whose command line mentions dir and waits
// for them to be gone. (A dying process's command line reads empty before it
// is gone, so the pids killed are watched, not just the matches.)
func killRunDir(dir string) error {
	needle := dir + string(filepath.Separator)
	deadline := time.Now().Add(10 * time.Second)
	killed := map[int]bool{}
	for {
		pids := processesMentioning(needle)
		for pid := range killed {
			if _, alive := processStartTime(pid); !alive {
				delete(killed, pid)
			} else if !slices.Contains(pids, pid) {
				pids = append(pids, pid)
			}
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of %s survive SIGKILL", pids, dir)
		}
		killAll(pids)
		for _, pid := range pids {
			killed[pid] = true
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// componentNames are the programs the harness runs; Sweep kills nothing else.
// containerd's shims name its socket in the run directory; the containers
// under them are found by their cgroups (cleanRunDirNode).
var componentNames = map[string]bool{
	"etcd":                    true,
	"kube-apiserver":          true,
	"kube-controller-manager": true,
	"kube-scheduler":          true,
	"kwok":                    true,
	"kubelet":                 true,
	"containerd":              true,
	"containerd-shim-runc-v2": true,
	"ctr":                     true,
	"setpriv":                 true,
	"sh":                      true,
}

// removeRunDir deletes a run directory, unless something is still mounted
// under it: RemoveAll would go through the mount into what it shows.
func removeRunDir(dir string) error {
	if left := mountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("not removing %s: still mounted under it: %v", dir, left)
	}
	return os.RemoveAll(dir)
}
