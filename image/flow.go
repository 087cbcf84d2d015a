package image

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubectl-flows/kubectl-flows/internal/gobuild"
)

// HelloFlowRef is the image examples/hello's deployments name when
// rendered with `kubectl flows render --ext-str gitSha=demo`.
const HelloFlowRef = "ghcr.io/acme/hello-flow:demo"

// pythonSeeds are the Debian packages of a Python 3 that runs the
// entrypoint runner: the interpreter (python3-minimal) and the standard
// library beyond its minimal part (libpython3-stdlib: asyncio, json,
// inspect, ...). dpkg is skipped: python3-minimal depends on it for its
// maintainer scripts only.
var pythonSeeds, pythonSkip = []string{"python3-minimal", "libpython3-stdlib"}, []string{"dpkg"}

// PythonRoot returns the root filesystem of Debian's Python 3 (see
// pythonSeeds) and what it needs, extracted once into cacheDir ("" is
// DefaultCacheDir) under a name keyed by the packages' versions.
func PythonRoot(ctx context.Context, cacheDir string) (string, error) {
	return debianRoot(ctx, cacheDir, "python3", pythonSeeds, pythonSkip)
}

// FlowOptions says what goes into a flow image besides Python.
type FlowOptions struct {
	// Flows is a directory copied to /app/flows, as the example's
	// Dockerfile copies flows/.
	Flows string
	// Plugin is the kubectl-flows binary (static), installed as
	// /usr/local/bin/kubectl-flows so a flow can start runs.
	Plugin []byte
	// CacheDir holds the Debian root filesystem ("" is DefaultCacheDir).
	CacheDir string
	Created  time.Time
}

// PythonFlow builds a flow image as examples/hello/Dockerfile describes it,
// without a registry: Debian's Python 3 (one layer, from PythonRoot), then
// the flows in /app/flows, the plugin, `python` (the name the Jobs'
// command uses) linked to python3, /etc/passwd naming 65532, and /tmp.
// It runs as 65532:65532 in /app, numeric so the restricted Pod Security
// the project's namespace enforces (runAsNonRoot) admits it with no
// run_as_user job variable. Its default command runs flows/hello.py as
// the Dockerfile's does; Jobs run the entrypoint runner instead.
// Created dates the config and the top layer; the Python layer keeps its
// own date (see DebianLayer).
func PythonFlow(ctx context.Context, o FlowOptions) (v1.Image, error) {
	arch, err := DebianArch(ctx)
	if err != nil {
		return nil, err
	}
	root, err := PythonRoot(ctx, o.CacheDir)
	if err != nil {
		return nil, err
	}
	base, err := DebianLayer(root)
	if err != nil {
		return nil, err
	}
	flows, err := DirFiles(o.Flows, "app/flows")
	if err != nil {
		return nil, err
	}
	app := accounts()
	for _, f := range flows {
		// Bytecode a local run left behind is not the image's.
		if !strings.Contains("/"+f.Path+"/", "/__pycache__/") {
			app = append(app, f)
		}
	}
	app = append(app,
		Regular("usr/local/bin/kubectl-flows", 0o755, o.Plugin),
		Symlink("usr/local/bin/python", "/usr/bin/python3"),
		Dir("tmp", 0o777|fs.ModeSticky))
	top, err := Layer(app, o.Created)
	if err != nil {
		return nil, err
	}
	return Build(Config{
		User:       NonRoot,
		Cmd:        []string{"python", "flows/hello.py"},
		WorkingDir: "/app",
		Env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"HOME=/tmp",
			"LANG=C.UTF-8",
			// /app and Python's own directories are root's: no .pyc can be
			// written, so do not try.
			"PYTHONDONTWRITEBYTECODE=1",
		},
		Arch:    arch,
		Created: o.Created,
	}, base, top)
}

// HelloFlow builds the hello example's flow image (tag it HelloFlowRef)
// from the checkout: examples/hello/flows and a kubectl-flows built from
// source with version stamped. dir is the module's root.
func HelloFlow(ctx context.Context, dir, version, cacheDir string, created time.Time) (v1.Image, error) {
	arch, err := DebianArch(ctx)
	if err != nil {
		return nil, err
	}
	plugin, err := gobuild.Build(ctx, gobuild.Options{Dir: dir, Package: gobuild.Module + "/cmd/kubectl-flows", Version: version, GOOS: "linux", GOARCH: arch})
	if err != nil {
		return nil, err
	}
	return PythonFlow(ctx, FlowOptions{Flows: filepath.Join(dir, "examples", "hello", "flows"), Plugin: plugin, CacheDir: cacheDir, Created: created})
}
