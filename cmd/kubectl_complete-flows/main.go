// Command kubectl_complete-flows gives `kubectl flows <TAB>` its
// completions. kubectl (1.26 and later) runs kubectl_complete-<plugin>
// from PATH with the words typed after the plugin's name; this passes them
// to `kubectl-flows __complete`, cobra's completion protocol, which
// completes commands, flags, and deployment and run names from the
// cluster. Install it beside kubectl-flows (the release archives hold
// both).
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	plugin, err := findPlugin()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubectl_complete-flows:", err)
		return 1
	}
	cmd := exec.Command(plugin, append([]string{"__complete"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "kubectl_complete-flows:", err)
		return 1
	}
	return 0
}

// findPlugin prefers the kubectl-flows beside this executable (they ship
// together), then the one on PATH.
func findPlugin() (string, error) {
	name := "kubectl-flows"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		p := filepath.Join(filepath.Dir(self), name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return exec.LookPath(name)
}
