// Package gobuild builds the project's binaries reproducibly, for release
// archives (hack/dist) and images (image/): the same source tree and Go
// version give the same bytes on any machine.
package gobuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Module is the project's module path; its version package is stamped.
const Module = "github.com/kubectl-flows/kubectl-flows"

// Options says what to build.
type Options struct {
	// Dir is a directory inside the module ("" is the working directory).
	Dir string
	// Package is the main package, e.g. "./cmd/flows-reconciler".
	Package string
	// Version is stamped into version.Version.
	Version      string
	GOOS, GOARCH string
}

// Build builds Package and returns the binary. CGO is off, so the binary
// is static and runs in an image with no libc; -trimpath, an empty build
// ID and no VCS stamp keep the checkout's path, the build cache and a dirty
// tree out of the bytes; -s -w drop the symbol tables.
func Build(ctx context.Context, o Options) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "kubectl-flows-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, filepath.Base(o.Package))
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid= -X "+Module+"/version.Version="+o.Version,
		"-o", out, o.Package)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+o.GOOS, "GOARCH="+o.GOARCH, "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s for %s/%s: %w\n%s", o.Package, o.GOOS, o.GOARCH, err, stderr.Bytes())
	}
	return os.ReadFile(out)
}
