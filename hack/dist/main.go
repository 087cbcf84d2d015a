// Command dist builds the release archives of kubectl-flows, reproducibly:
// for each platform a tar.gz (zip on Windows) holding kubectl-flows,
// kubectl_complete-flows and LICENSE, and a sha256 checksums file.
//
//	go run ./hack/dist --version v0.1.0 [--out dist] [--platforms linux/amd64,...]
//
// Binaries are built with -trimpath, no build ID and no VCS stamp, and the
// archives have sorted entries, fixed modification times
// (SOURCE_DATE_EPOCH, default 2000-01-01), owner 0 and fixed modes, so the
// same tree and Go version give the same bytes.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-flows/kubectl-flows/krew"
)

// Platforms are the ones released by default.
var Platforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

const module = "github.com/kubectl-flows/kubectl-flows"

func main() {
	version := flag.String("version", "", "release version, e.g. v0.1.0 (required)")
	out := flag.String("out", "dist", "output directory")
	platforms := flag.String("platforms", strings.Join(Platforms, ","), "comma-separated GOOS/GOARCH list; \"host\" is this machine's")
	flag.Parse()
	if *version == "" {
		fmt.Fprintln(os.Stderr, "dist: --version is required (make dist VERSION=vX.Y.Z)")
		os.Exit(2)
	}
	list := strings.Split(*platforms, ",")
	for i, p := range list {
		if p == "host" {
			list[i] = runtime.GOOS + "/" + runtime.GOARCH
		}
	}
	if err := run(*version, *out, list); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

func run(version, out string, platforms []string) error {
	license, err := os.ReadFile("LICENSE")
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "kubectl-flows-dist-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sums := map[string]string{}
	for _, p := range platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			return fmt.Errorf("platform %q: want GOOS/GOARCH", p)
		}
		start := time.Now()
		dir := filepath.Join(tmp, goos+"_"+goarch)
		exe := ""
		if goos == "windows" {
			exe = ".exe"
		}
		files := map[string][]byte{"LICENSE": license}
		for _, cmd := range []string{"kubectl-flows", "kubectl_complete-flows"} {
			bin := filepath.Join(dir, cmd+exe)
			build := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
				"-ldflags", "-s -w -buildid= -X "+module+"/version.Version="+version,
				"-o", bin, "./cmd/"+cmd)
			build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			if err := build.Run(); err != nil {
				return fmt.Errorf("building %s for %s: %w", cmd, p, err)
			}
			b, err := os.ReadFile(bin)
			if err != nil {
				return err
			}
			files[cmd+exe] = b
		}
		name := krew.ArchiveName(version, goos, goarch)
		var data []byte
		if goos == "windows" {
			data, err = krew.Zip(files)
		} else {
			data, err = krew.TarGz(files)
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		sums[name] = hex.EncodeToString(sum[:])
		fmt.Fprintf(os.Stderr, "dist: %s (%d MiB) in %v\n", name, len(data)>>20, time.Since(start).Round(time.Second))
	}
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	sumFile := filepath.Join(out, fmt.Sprintf("kubectl-flows_%s_checksums.txt", version))
	if err := os.WriteFile(sumFile, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "dist: %s\n", sumFile)
	return nil
}
