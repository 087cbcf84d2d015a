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
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-flows/kubectl-flows/internal/gobuild"
	"github.com/kubectl-flows/kubectl-flows/krew"
)

// Platforms are the ones released by default.
var Platforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

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
	if err := run(context.Background(), *version, *out, list); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, version, out string, platforms []string) error {
	license, err := os.ReadFile("LICENSE")
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	sums := map[string]string{}
	for _, p := range platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			return fmt.Errorf("platform %q: want GOOS/GOARCH", p)
		}
		start := time.Now()
		exe := ""
		if goos == "windows" {
			exe = ".exe"
		}
		files := map[string][]byte{"LICENSE": license}
		for _, cmd := range []string{"kubectl-flows", "kubectl_complete-flows"} {
			b, err := gobuild.Build(ctx, gobuild.Options{Package: "./cmd/" + cmd, Version: version, GOOS: goos, GOARCH: goarch})
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
