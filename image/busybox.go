package image

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BusyboxRef is the name the busybox image is given by default: a local
// one, so that it never stands in for Docker Hub's.
const BusyboxRef = "localhost/kubectl-flows/busybox:v1"

// Busybox builds a busybox image of Debian's busybox-static package:
// /bin/busybox and a symlink to it for each of its applets (/bin/sh,
// /bin/sleep, ...), /etc/passwd and /etc/group, and /tmp. It runs as root
// unless the pod says otherwise, as Docker Hub's busybox does. The package
// is downloaded once into cacheDir ("" is DefaultCacheDir).
func Busybox(ctx context.Context, cacheDir string, created time.Time) (v1.Image, error) {
	arch, err := DebianArch(ctx)
	if err != nil {
		return nil, err
	}
	root, err := debianRoot(ctx, cacheDir, "busybox", []string{"busybox-static"}, nil)
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "bin", "busybox")
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	// The static binary runs here too: it lists where its applets go.
	list, err := run(ctx, "", bin, "--list-full")
	if err != nil {
		return nil, err
	}
	files := append(accounts(), Regular("bin/busybox", 0o755, data), Dir("tmp", 0o777|fs.ModeSticky))
	seen := map[string]bool{"bin/busybox": true}
	for _, applet := range strings.Fields(string(list)) {
		applet = strings.TrimPrefix(applet, "/")
		if !seen[applet] {
			seen[applet] = true
			files = append(files, Symlink(applet, "/bin/busybox"))
		}
	}
	if !seen["bin/sh"] {
		return nil, fmt.Errorf("%s --list-full names no bin/sh", bin)
	}
	l, err := Layer(files, created)
	if err != nil {
		return nil, err
	}
	return Build(Config{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, Arch: arch, Created: created}, l)
}

// debianRoot is DebianRoot of the closure of seeds.
func debianRoot(ctx context.Context, cacheDir, label string, seeds, skip []string) (string, error) {
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	pkgs, err := DebianClosure(ctx, seeds, skip)
	if err != nil {
		return "", err
	}
	return DebianRoot(ctx, cacheDir, label, pkgs)
}
