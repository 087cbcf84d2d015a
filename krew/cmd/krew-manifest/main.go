// Command krew-manifest renders the krew-index manifest of a release from
// .krew.yaml and the archives in the dist directory (with their real
// sha256), checks it as krew does, and writes DIST/flows.yaml.
//
//	go run ./krew/cmd/krew-manifest --version v0.1.0 [--dist dist] [--template .krew.yaml]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubectl-flows/kubectl-flows/krew"
)

func main() {
	version := flag.String("version", "", "release tag, e.g. v0.1.0 (required)")
	dist := flag.String("dist", "dist", "directory holding the release archives")
	tmpl := flag.String("template", ".krew.yaml", "krew-release-bot template")
	out := flag.String("o", "", "output file (default DIST/flows.yaml)")
	flag.Parse()
	if *version == "" {
		fmt.Fprintln(os.Stderr, "krew-manifest: --version is required")
		os.Exit(2)
	}
	if *out == "" {
		*out = filepath.Join(*dist, "flows.yaml")
	}
	if err := run(*version, *dist, *tmpl, *out); err != nil {
		fmt.Fprintln(os.Stderr, "krew-manifest:", err)
		os.Exit(1)
	}
}

func run(version, dist, tmplFile, out string) error {
	tmpl, err := os.ReadFile(tmplFile)
	if err != nil {
		return err
	}
	data, err := krew.Render(tmpl, version, krew.DirSHA(dist))
	if err != nil {
		return fmt.Errorf("%s: %w (build the archives first: make dist VERSION=%s)", tmplFile, err, version)
	}
	p, err := krew.Parse(data)
	if err != nil {
		return fmt.Errorf("rendered manifest: %w\n%s", err, data)
	}
	if err := krew.Validate(out, p); err != nil {
		return fmt.Errorf("rendered manifest: %w", err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "krew-manifest: wrote %s (%d platforms)\n", out, len(p.Spec.Platforms))
	return nil
}
