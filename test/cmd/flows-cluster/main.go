// Command flows-cluster runs the end-to-end tests' control plane (see
// test/harness) for a person to use with kubectl:
//
//	flows-cluster up [--nodes N] [--real-node [--image FILE]...] [--detach]
//	                                          start it; prints export KUBECONFIG=...
//	flows-cluster import FILE...              import image archives into the real node
//	flows-cluster down                        stop it
//	flows-cluster status                      say whether it runs
//	flows-cluster can-real-node               say whether --real-node can start here, or why not
//
// `up` stays in the foreground until SIGINT or SIGTERM unless --detach is
// given, in which case it starts itself in the background, waits for the
// control plane to be ready and returns. State lives in --dir (default
// $XDG_CACHE_HOME/kubectl-flows/cluster): kubeconfig, pid, cluster.log.
//
// --real-node adds a node that runs real containers (a kubelet and its own
// containerd; root, and Debian's containerd, runc and
// containernetworking-plugins): alone unless --nodes is given too, in which
// case the kwok nodes run beside it and it is tainted (see test/harness).
// Its containerd has the harness's pause and busybox images; --image (at
// start) and `import` (later) add image archives (`ctr images import`
// format) under the names they carry. Pods use them with imagePullPolicy
// Never or IfNotPresent: nothing is ever pulled.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

const usage = `usage: flows-cluster up [--nodes N] [--real-node [--image FILE]...] [--detach] [--dir DIR]
       flows-cluster import [--dir DIR] FILE...
       flows-cluster down [--dir DIR]
       flows-cluster status [--dir DIR]
       flows-cluster can-real-node
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	fs := flag.NewFlagSet("flows-cluster "+os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", defaultDir(), "state directory (kubeconfig, pid file, log)")
	var err error
	switch os.Args[1] {
	case "up":
		nodes := fs.Int("nodes", 4, "number of fake (kwok) nodes (default 4, or 0 with --real-node)")
		realNode := fs.Bool("real-node", false, "add a node that runs real containers (root; Debian's containerd, runc, containernetworking-plugins)")
		var images imageFiles
		fs.Var(&images, "image", "with --real-node: an image archive to import into its containerd (repeatable)")
		detach := fs.Bool("detach", false, "run in the background; stop with `flows-cluster down`")
		daemon := fs.Bool("daemon", false, "internal: the background process of --detach")
		_ = fs.Parse(os.Args[2:])
		c := clusterSpec{nodes: *nodes, realNode: *realNode, images: images}
		if len(images) > 0 && !*realNode {
			err = fmt.Errorf("--image needs --real-node: kwok's nodes run no images")
			break
		}
		if *realNode && !flagGiven(fs, "nodes") {
			c.nodes = -1 // none: the real node alone
		}
		s := state{dir: *dir}
		switch {
		case *daemon:
			err = s.runDaemon(c)
		case *detach:
			err = s.upDetached(c)
		default:
			err = s.upForeground(c)
		}
	case "import":
		_ = fs.Parse(os.Args[2:])
		err = state{dir: *dir}.importImages(fs.Args())
	case "down":
		_ = fs.Parse(os.Args[2:])
		err = state{dir: *dir}.down()
	case "status":
		_ = fs.Parse(os.Args[2:])
		err = state{dir: *dir}.status()
	case "can-real-node":
		_ = fs.Parse(os.Args[2:])
		if err = harness.RealNodeAvailable(); err == nil {
			fmt.Println("a real node can start here")
		} else {
			err = fmt.Errorf("no real node here: %w", err)
		}
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "flows-cluster: %v\n", err)
		os.Exit(1)
	}
}

// clusterSpec is what `up` starts.
type clusterSpec struct {
	nodes    int // kwok nodes; negative for none
	realNode bool
	images   imageFiles
}

// args are the flags that ask for c, for the background process.
func (c clusterSpec) args() []string {
	args := []string{"--nodes", strconv.Itoa(c.nodes)}
	if c.realNode {
		args = append(args, "--real-node")
	}
	for _, img := range c.images {
		args = append(args, "--image", img)
	}
	return args
}

// imageFiles collects --image flags as absolute paths (the background
// process runs elsewhere).
type imageFiles []string

func (f *imageFiles) String() string { return strings.Join(*f, ",") }

func (f *imageFiles) Set(v string) error {
	abs, err := filepath.Abs(v)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return err
	}
	*f = append(*f, abs)
	return nil
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func defaultDir() string {
	base, err := os.UserCacheDir() // $XDG_CACHE_HOME or ~/.cache
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "kubectl-flows", "cluster")
}

type state struct{ dir string }

func (s state) kubeconfig() string { return filepath.Join(s.dir, "kubeconfig") }
func (s state) pidFile() string    { return filepath.Join(s.dir, "pid") }
func (s state) logFile() string    { return filepath.Join(s.dir, "cluster.log") }
func (s state) readyFile() string  { return filepath.Join(s.dir, "ready") }

// containerdFile holds the real node's containerd socket, for `import`.
func (s state) containerdFile() string { return filepath.Join(s.dir, "containerd") }

// running returns the pid of a live flows-cluster that owns this state
// directory, or 0.
func (s state) running() int {
	data, err := os.ReadFile(s.pidFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	if syscall.Kill(pid, 0) != nil {
		return 0
	}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil &&
		!strings.Contains(string(cmdline), "flows-cluster") {
		return 0 // the pid was reused by something else
	}
	return pid
}

func (s state) printEnv(w io.Writer) {
	fmt.Fprintf(w, "export KUBECONFIG=%s\n", s.kubeconfig())
}

// start brings the control plane up and publishes kubeconfig, pid and ready.
func (s state) start(ctx context.Context, c clusterSpec) (*harness.ControlPlane, error) {
	if pid := s.running(); pid != 0 && pid != os.Getpid() {
		return nil, fmt.Errorf("already running (pid %d); use it with:\n  export KUBECONFIG=%s\nor stop it with `flows-cluster down`", pid, s.kubeconfig())
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	_ = os.Remove(s.readyFile())
	if err := os.WriteFile(s.pidFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, err
	}
	cp, err := harness.Start(ctx, harness.Options{
		Nodes:    c.nodes,
		RealNode: c.realNode,
		Images:   c.images,
		Logf:     func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	})
	if err != nil {
		_ = os.Remove(s.pidFile())
		return nil, err
	}
	data, err := os.ReadFile(cp.Kubeconfig)
	if err == nil {
		err = os.WriteFile(s.kubeconfig(), data, 0o600)
	}
	if err == nil && cp.RealNode != nil {
		err = os.WriteFile(s.containerdFile(), []byte(cp.RealNode.ContainerdAddress+"\n"), 0o644)
	}
	if err == nil {
		err = os.WriteFile(s.readyFile(), []byte(cp.Dir+"\n"), 0o644)
	}
	if err != nil {
		_ = cp.Stop()
		_ = os.Remove(s.pidFile())
		return nil, err
	}
	real := ""
	if rn := cp.RealNode; rn != nil {
		real = fmt.Sprintf(", real node %s (%s; images %s and %s)", rn.Name, rn.IP, harness.PauseImage, harness.BusyboxImage)
	}
	fmt.Fprintf(os.Stderr, "flows-cluster: up in %v: %s, %d kwok nodes%s; logs in %s\n",
		cp.StartupTime.Round(100*time.Millisecond), cp.APIServerURL(), len(cp.Nodes), real, cp.LogDir())
	return cp, nil
}

// serve waits for SIGINT/SIGTERM, then stops the control plane.
func (s state) serve(ctx context.Context, cp *harness.ControlPlane) error {
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "flows-cluster: stopping")
	err := cp.Stop()
	s.cleanFiles()
	return err
}

func (s state) cleanFiles() {
	for _, f := range []string{s.readyFile(), s.pidFile(), s.kubeconfig(), s.containerdFile()} {
		_ = os.Remove(f)
	}
}

func (s state) upForeground(c clusterSpec) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	cp, err := s.start(ctx, c)
	if err != nil {
		return err
	}
	s.printEnv(os.Stdout)
	fmt.Fprintln(os.Stderr, "flows-cluster: running in the foreground; ^C stops it")
	return s.serve(ctx, cp)
}

func (s state) runDaemon(c clusterSpec) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	signal.Ignore(syscall.SIGHUP)
	cp, err := s.start(ctx, c)
	if err != nil {
		return err
	}
	return s.serve(ctx, cp)
}

func (s state) upDetached(c clusterSpec) error {
	if pid := s.running(); pid != 0 {
		fmt.Fprintf(os.Stderr, "flows-cluster: already running (pid %d)\n", pid)
		s.printEnv(os.Stdout)
		return nil
	}
	// Build (or find) the binaries here, where a cold build's progress is
	// visible, and hand them to the daemon.
	bin, err := harness.BinDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(s.readyFile())
	log, err := os.OpenFile(s.logFile(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append(append([]string{"up", "--daemon"}, c.args()...), "--dir", s.dir)...)
	cmd.Env = append(os.Environ(), harness.EnvTestBin+"="+bin)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if wd, err := os.Getwd(); err == nil {
		cmd.Dir = wd
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(3 * time.Minute)
	for {
		if _, err := os.Stat(s.readyFile()); err == nil {
			fmt.Fprintf(os.Stderr, "flows-cluster: running in the background (pid %d); log %s; stop with `flows-cluster down`\n", cmd.Process.Pid, s.logFile())
			s.printEnv(os.Stdout)
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("the background process exited (%v):\n%s", err, tail(s.logFile(), 20))
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("not ready after 3 minutes; see %s", s.logFile())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s state) down() error {
	pid := s.running()
	if pid == 0 {
		fmt.Fprintln(os.Stderr, "flows-cluster: not running")
	} else {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(60 * time.Second)
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "flows-cluster: pid %d ignores SIGTERM; killing it\n", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				time.Sleep(time.Second)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "flows-cluster: stopped (pid %d)\n", pid)
	}
	s.cleanFiles()
	// Whatever a killed flows-cluster (or test) left behind goes too.
	swept, err := harness.Sweep()
	if len(swept) > 0 {
		fmt.Fprintf(os.Stderr, "flows-cluster: cleaned up %d abandoned control plane(s)\n", len(swept))
	}
	return err
}

// importImages imports image archives into the running cluster's real node.
func (s state) importImages(files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("import: name the image archives to import")
	}
	if s.running() == 0 {
		return fmt.Errorf("not running (start it with `flows-cluster up --real-node`)")
	}
	data, err := os.ReadFile(s.containerdFile())
	if err != nil {
		return fmt.Errorf("the cluster in %s has no real node (start it with --real-node)", s.dir)
	}
	if err := harness.ImportImages(context.Background(), strings.TrimSpace(string(data)), files...); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "flows-cluster: imported %d image archive(s)\n", len(files))
	return nil
}

func (s state) status() error {
	pid := s.running()
	if pid == 0 {
		fmt.Println("not running")
		return nil
	}
	if _, err := os.Stat(s.readyFile()); err != nil {
		fmt.Printf("starting (pid %d)\n", pid)
		return nil
	}
	fmt.Printf("running (pid %d)\n", pid)
	s.printEnv(os.Stdout)
	return nil
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
