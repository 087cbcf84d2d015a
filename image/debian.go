package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Package is one Debian package at the version apt would install.
type Package struct {
	Name, Version, Arch string
}

// ErrNoApt says the machine has no apt-get, apt-cache or dpkg-deb: the
// images made of Debian's packages cannot be built here.
var ErrNoApt = errors.New("building an image from Debian packages needs apt-get, apt-cache and dpkg-deb (a Debian or Ubuntu machine, after apt-get update)")

// DebianClosure lists the packages seeds need to run: their Depends and
// PreDepends, recursively, at apt's candidate versions, sorted by name.
// Of alternatives ("a | b") the first is taken, and a virtual package is
// replaced by its first provider, as apt would on a bare system. Packages
// in skip, and what only they need, are left out: e.g. dpkg, which
// python3-minimal depends on for its maintainer scripts alone, which never
// run in an image.
func DebianClosure(ctx context.Context, seeds, skip []string) ([]Package, error) {
	if err := haveApt(); err != nil {
		return nil, err
	}
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	out, err := run(ctx, "", "apt-cache", append([]string{"depends", "--recurse", "--no-recommends", "--no-suggests",
		"--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"}, seeds...)...)
	if err != nil {
		return nil, err
	}
	deps := dependencies(out)
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		if seen[n] || skipped[n] {
			return
		}
		seen[n] = true
		for _, d := range deps[n] {
			visit(d)
		}
	}
	for _, n := range seeds {
		visit(n)
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return candidates(ctx, names)
}

// dependencies reads `apt-cache depends` output into each package's
// dependencies: of each group of alternatives, the first, or the first
// provider of a virtual package.
func dependencies(out []byte) map[string][]string {
	type alt struct {
		name      string
		providers []string
	}
	groups := map[string][][]*alt{}
	var pkg string
	open := false // the last dependency line ended with "|": its group goes on
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		gs := groups[pkg]
		switch {
		case strings.HasPrefix(line, "    "): // a provider of the virtual package above
			if len(gs) > 0 {
				a := gs[len(gs)-1][len(gs[len(gs)-1])-1]
				a.providers = append(a.providers, strings.TrimSpace(line))
			}
		case strings.HasPrefix(line, "  ") || strings.HasPrefix(line, " |"):
			kind, dep, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, " |")), ": ")
			if !ok || (kind != "Depends" && kind != "PreDepends") {
				open = false
				continue
			}
			dep, _, _ = strings.Cut(dep, ":") // "python3:any"
			if open {
				gs[len(gs)-1] = append(gs[len(gs)-1], &alt{name: dep})
			} else {
				groups[pkg] = append(gs, []*alt{{name: dep}})
			}
			open = strings.HasPrefix(line, " |")
		default: // the next package
			pkg, open = strings.TrimSpace(line), false
		}
	}
	deps := map[string][]string{}
	for p, gs := range groups {
		for _, g := range gs {
			for _, a := range g {
				if !strings.HasPrefix(a.name, "<") {
					deps[p] = append(deps[p], a.name)
					break
				}
				if len(a.providers) > 0 {
					deps[p] = append(deps[p], a.providers[0])
					break
				}
			}
		}
	}
	return deps
}

// candidates gives the names apt's candidate versions.
func candidates(ctx context.Context, names []string) ([]Package, error) {
	out, err := run(ctx, "", "apt-cache", append([]string{"show", "--no-all-versions"}, names...)...)
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	for _, para := range strings.Split(string(out), "\n\n") {
		var p Package
		for _, line := range strings.Split(para, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "Package":
				p.Name = v
			case "Version":
				p.Version = v
			case "Architecture":
				p.Arch = v
			}
		}
		if p.Name != "" {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) != len(names) {
		return nil, fmt.Errorf("apt-cache show found %d of the %d packages %v (run apt-get update)", len(pkgs), len(names), names)
	}
	return pkgs, nil
}

// DefaultCacheDir is where images made of Debian packages keep their
// root filesystems: ${XDG_CACHE_HOME:-~/.cache}/kubectl-flows/images, as
// test/tools/build.sh keeps the control-plane binaries.
func DefaultCacheDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "kubectl-flows", "images")
}

// DebianRoot returns a directory holding pkgs extracted (`dpkg-deb -x`,
// no maintainer scripts) into one root filesystem, under cacheDir in a
// directory named for the exact package versions: the first call
// downloads (`apt-get download`) and extracts, later ones find it. Where
// packages put files under /usr only (merged /usr), the usual /bin, /sbin,
// /lib and /lib64 links are added.
func DebianRoot(ctx context.Context, cacheDir, label string, pkgs []Package) (string, error) {
	if err := haveApt(); err != nil {
		return "", err
	}
	h := sha256.New()
	for _, p := range pkgs {
		fmt.Fprintf(h, "%s=%s %s\n", p.Name, p.Version, p.Arch)
	}
	dir := filepath.Join(cacheDir, label+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	root := filepath.Join(dir, "rootfs")
	if _, err := os.Stat(root); err == nil {
		return root, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	args := []string{"download"}
	for _, p := range pkgs {
		args = append(args, p.Name+"="+p.Version)
	}
	if _, err := run(ctx, tmp, "apt-get", args...); err != nil {
		return "", err
	}
	debs, err := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if err != nil {
		return "", err
	}
	sort.Strings(debs)
	if len(debs) != len(pkgs) {
		return "", fmt.Errorf("apt-get download gave %d .deb files for %d packages", len(debs), len(pkgs))
	}
	staged := filepath.Join(tmp, "rootfs")
	for _, deb := range debs {
		if _, err := run(ctx, "", "dpkg-deb", "-x", deb, staged); err != nil {
			return "", err
		}
	}
	if err := mergedUsrLinks(staged); err != nil {
		return "", err
	}
	// Another build may have finished first; its tree is the same.
	if err := os.Rename(staged, root); err != nil {
		if _, statErr := os.Stat(root); statErr != nil {
			return "", err
		}
	}
	return root, nil
}

func mergedUsrLinks(root string) error {
	for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
		if _, err := os.Lstat(filepath.Join(root, d)); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "usr", d)); err != nil {
			continue
		}
		if err := os.Symlink("usr/"+d, filepath.Join(root, d)); err != nil {
			return err
		}
	}
	return nil
}

// DebianArch is the GOARCH of the machine's Debian packages; images built
// of them are for that architecture only.
func DebianArch(ctx context.Context) (string, error) {
	out, err := run(ctx, "", "dpkg", "--print-architecture")
	if err != nil {
		return "", err
	}
	arch := strings.TrimSpace(string(out))
	if arch != runtime.GOARCH {
		return "", fmt.Errorf("the Debian architecture here is %s, Go's is %s: build on a machine where they agree", arch, runtime.GOARCH)
	}
	return arch, nil
}

func haveApt() error {
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			return ErrNoApt
		}
	}
	return nil
}

// run runs a command in dir and returns its output, or an error holding
// what it said.
func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// DebianLayer is the layer of a root filesystem DebianRoot made, kept
// beside it (layer.tar.gz) once made. It is dated by the newest file the
// packages hold, not by the commit: its contents come from Debian alone,
// so its digest stays the same from commit to commit and a node or a
// registry that has it keeps it.
func DebianLayer(root string) (v1.Layer, error) {
	cached := filepath.Join(filepath.Dir(root), "layer.tar.gz")
	if blob, err := os.ReadFile(cached); err == nil {
		return blobLayer(blob)
	}
	files, err := DirFiles(root, "")
	if err != nil {
		return nil, err
	}
	var newest time.Time
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	blob, err := layerBlob(files, newest)
	if err != nil {
		return nil, err
	}
	tmp := cached + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, blob, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, cached); err != nil {
		return nil, err
	}
	return blobLayer(blob)
}
