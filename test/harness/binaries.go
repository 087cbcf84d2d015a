package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// EnvTestBin names the directory holding the control-plane binaries
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
// kubectl and kwok's stages/). `make e2e` sets it; when it is unset or the
// directory is incomplete, the harness runs test/tools/build.sh.
const EnvTestBin = "KUBECTL_FLOWS_TESTBIN"

// The binaries the harness needs, by file name inside the bin directory.
var requiredBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

var binDir struct {
	sync.Mutex
	dir string
}

// BinDir returns the directory holding the control-plane binaries. It takes
// $KUBECTL_FLOWS_TESTBIN when that holds them all, and otherwise runs
// `bash test/tools/build.sh` from the repository (found by walking up from
// the working directory to the project's go.mod), which builds whatever is
// missing into its cache (minutes when cold; its progress goes to stderr)
// and prints the directory on its last line.
func BinDir() (string, error) {
	binDir.Lock()
	defer binDir.Unlock()
	if binDir.dir != "" {
		return binDir.dir, nil
	}
	if d := os.Getenv(EnvTestBin); d != "" && completeBinDir(d) == nil {
		binDir.dir = d
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "test", "tools", "build.sh")
	cmd := exec.Command("bash", script)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	if last == "" {
		return "", fmt.Errorf("%s printed no directory", script)
	}
	if err := completeBinDir(last); err != nil {
		return "", err
	}
	binDir.dir = last
	return last, nil
}

func completeBinDir(dir string) error {
	var missing []string
	for _, b := range requiredBinaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "stages", "pod", "general")); err != nil || !fi.IsDir() {
		missing = append(missing, "stages/")
	}
	if len(missing) > 0 {
		return fmt.Errorf("test binaries directory %s lacks %s (run `make testbin`)", dir, strings.Join(missing, ", "))
	}
	return nil
}

// hasKubelet says whether dir holds the real node's kubelet.
func hasKubelet(dir string) error {
	if fi, err := os.Stat(filepath.Join(dir, "kubelet")); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("test binaries directory %s lacks kubelet, which the real node runs (run `make testbin`)", dir)
	}
	return nil
}

// modulePath is the project's module, to tell its go.mod from the tools
// modules' under test/tools.
const modulePath = "github.com/kubectl-flows/kubectl-flows"

// RepoRoot finds the repository root by walking up from the working
// directory to the go.mod of module github.com/kubectl-flows/kubectl-flows.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: not inside the kubectl-flows repository (no go.mod of " + modulePath + " above the working directory); set " + EnvTestBin)
		}
		dir = parent
	}
}
