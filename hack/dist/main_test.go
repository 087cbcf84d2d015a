package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/krew"
)

func TestArchivesAreReproducible(t *testing.T) {
	files := map[string][]byte{"kubectl-flows": []byte("#!/bin/sh\necho flows\n"), "kubectl_complete-flows": []byte("x"), "LICENSE": []byte("Apache")}
	for name, f := range map[string]func(map[string][]byte) ([]byte, error){"tar.gz": krew.TarGz, "zip": krew.Zip} {
		a, err := f(files)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := f(files)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds", name)
		}
	}
}

// An archive made here installs with the krew manifest made from
// .krew.yaml, the way krew installs it.
func TestArchiveInstallsWithManifest(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	dir := t.TempDir()
	files := map[string][]byte{"kubectl-flows": []byte("#!/bin/sh\necho flows \"$@\"\n"), "kubectl_complete-flows": []byte("x"), "LICENSE": []byte("Apache")}
	data, err := krew.TarGz(files)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, krew.ArchiveName("v9.9.9", runtime.GOOS, runtime.GOARCH))
	if runtime.GOOS == "windows" {
		data, _ = krew.Zip(files)
	}
	if err := os.WriteFile(archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile("../../.krew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := krew.Render(tmpl, "v9.9.9", func(url string) (string, error) {
		if !strings.HasSuffix(url, filepath.Base(archive)) {
			return strings.Repeat("a", 64), nil
		}
		return krew.FileSHA256(archive)
	})
	if err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(dir, "flows.yaml")
	if err := os.WriteFile(mf, manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "krew")
	if err := krew.InstallLocal(root, mf, archive); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "kubectl-flows")); err != nil {
		t.Fatal(err)
	}
	// A tampered archive is refused.
	if err := os.WriteFile(archive, append(data, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := krew.InstallLocal(root, mf, archive); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("tampered archive: %v", err)
	}
}
