//go:build linux

package harness

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names a real node's state may hold. Teardown kills every process in the
// cgroup root and deletes the bridge it reads there, so it checks them
// first: a damaged state file must not aim it at the machine's own.
var (
	validCgroupRoot = regexp.MustCompile(`^/kubectl-flows-run-[0-9]+$`)
	validBridge     = regexp.MustCompile(`^flows-(br|svc)[0-9]+$`)
	validNetwork    = regexp.MustCompile(`^kubectl-flows-run-[0-9]+$`)
)

func (st nodeState) validate() error {
	if !validCgroupRoot.MatchString(st.CgroupRoot) || !validBridge.MatchString(st.Bridge) ||
		!validBridge.MatchString(st.ServiceBridge) || !validNetwork.MatchString(st.Network) {
		return fmt.Errorf("real node state %+v names something the harness did not make; not touching it", st)
	}
	return nil
}

// cleanRunDirNode removes what the real node of run directory runDir left,
// if it had one: Stop's last step, and Sweep's for a killed run.
func cleanRunDirNode(runDir string) error {
	data, err := os.ReadFile(stateFile(runDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st nodeState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s: %w", stateFile(runDir), err)
	}
	if err := st.validate(); err != nil {
		return err
	}
	// Containers first, while their shims still live to reap them; then
	// the shims (and kubelet and containerd, when a killed run left them).
	errs := []error{killCgroup(st.CgroupRoot), killRunDir(runDir)}
	errs = append(errs,
		unmountUnder(runDir),
		deleteBridge(st.Bridge),
		deleteBridge(st.ServiceBridge),
		removeCgroup(st.CgroupRoot),
		removeFiles(filesOutside(runDir)),
	)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing the real node of %s: %w", runDir, err)
	}
	return nil
}

// mount is one line of /proc/self/mountinfo, the fields used here.
type mount struct{ point, fstype string }

func mounts() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, postFields := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(postFields) < 1 {
			continue
		}
		out = append(out, mount{point: unescapeMount(fields[4]), fstype: postFields[0]})
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupMounts lists the mount points of the cgroup hierarchies.
func cgroupMounts() []string {
	var out []string
	for _, m := range mounts() {
		if (m.fstype == "cgroup" || m.fstype == "cgroup2") && !slices.Contains(out, m.point) {
			out = append(out, m.point)
		}
	}
	return out
}

// mountsUnder lists the mount points at or under dir, deepest first.
func mountsUnder(dir string) []string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	var out []string
	for _, m := range mounts() {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			out = append(out, m.point)
		}
	}
	// Deepest first; among equals, the later mount (on top) first.
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return out
}

// unmountUnder unmounts everything mounted at or under dir: the kubelet's
// volumes and its root directory's own bind mount, containerd's rootfs and
// shm mounts, and the pods' network namespaces.
func unmountUnder(dir string) error {
	for range 10 {
		points := mountsUnder(dir)
		if len(points) == 0 {
			return nil
		}
		for _, p := range points {
			if err := syscall.Unmount(p, 0); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				// Busy: detach it, it goes once its last user does.
				_ = syscall.Unmount(p, syscall.MNT_DETACH)
			}
		}
	}
	if left := mountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("still mounted: %v", left)
	}
	return nil
}

// cgroupDirs lists root's cgroup directories in every hierarchy, deepest
// first.
func cgroupDirs(root string) []string {
	var dirs []string
	for _, m := range cgroupMounts() {
		_ = filepath.WalkDir(filepath.Join(m, root), func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
	}
	slices.SortStableFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return dirs
}

// cgroupPids lists the processes in root's cgroups, in any hierarchy.
func cgroupPids(root string) []int {
	seen := map[int]bool{}
	var pids []int
	for _, d := range cgroupDirs(root) {
		data, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// killCgroup SIGKILLs every process in root's cgroups until none is left.
func killCgroup(root string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var live []int
		for _, pid := range cgroupPids(root) {
			if _, alive := processStartTime(pid); alive {
				live = append(live, pid)
			}
		}
		if len(live) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v in cgroup %s survive SIGKILL", live, root)
		}
		for _, pid := range live {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// removeCgroup removes root's cgroups, deepest first. A cgroup whose last
// process just died may refuse for a moment.
func removeCgroup(root string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var errs []error
		for _, d := range cgroupDirs(root) {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 || time.Now().After(deadline) {
			return errors.Join(errs...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deleteBridge deletes the pods' veths still on the bridge (deleting one
// end of a veth deletes both), then the bridge. A veth whose network
// namespace just went (unmountUnder) may vanish by itself meanwhile.
func deleteBridge(name string) error {
	ports, _ := os.ReadDir(filepath.Join("/sys/class/net", name, "brif"))
	var errs []error
	for _, p := range append(ports, nil) {
		link := name
		if p != nil {
			link = p.Name()
		}
		if err := ip("link", "del", link); err != nil {
			if _, exists := net.InterfaceByName(link); exists == nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Fixed paths outside the run directory where containerd, its CNI library
// and the kubelet put files whatever they are configured with.
const (
	shimSocketDir     = "/run/containerd/s"
	cniResultsDir     = "/var/lib/cni/results"
	containerLogLinks = "/var/log/containers"
)

// filesOutside lists the files the real node of runDir made outside it
// that are still there: its shims' sockets (named by a hash of containerd's
// socket, namespace and task id), the CNI results of its sandboxes, and the
// kubelet's links to its containers' logs. Removed with the pod's sandbox
// normally, they stay when the shims and containerd are killed.
func filesOutside(runDir string) []string {
	state := filepath.Join(runDir, "node", "containerd", "state")
	var files []string
	tasks, _ := os.ReadDir(filepath.Join(state, "io.containerd.runtime.v2.task", "k8s.io"))
	for _, t := range tasks {
		sum := sha256.Sum256([]byte(filepath.Join(runDir, "node", "containerd.sock", "k8s.io", t.Name())))
		files = append(files, filepath.Join(shimSocketDir, hex.EncodeToString(sum[:])))
	}
	sandboxes, _ := os.ReadDir(filepath.Join(state, "io.containerd.grpc.v1.cri", "sandboxes"))
	for _, sb := range sandboxes {
		found, _ := filepath.Glob(filepath.Join(cniResultsDir, "*-"+sb.Name()+"-*"))
		files = append(files, found...)
	}
	links, _ := os.ReadDir(containerLogLinks)
	for _, l := range links {
		path := filepath.Join(containerLogLinks, l.Name())
		if target, err := os.Readlink(path); err == nil && strings.HasPrefix(target, runDir+string(filepath.Separator)) {
			files = append(files, path)
		}
	}
	var existing []string
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			existing = append(existing, f)
		}
	}
	return existing
}

func removeFiles(files []string) error {
	var errs []error
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
