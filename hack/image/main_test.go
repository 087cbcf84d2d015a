package main

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPushIsTheBuild runs what `make image` and `make image-push
// IMAGE=HOST/flows-reconciler` run, against a registry served in process:
// the pushed image, pulled back by the digest printed, is the one written
// to the OCI layout, and the tag is the version's.
func TestPushIsTheBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the reconciler")
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	dir := t.TempDir()
	o := options{
		version:    "v0.0.0-test",
		repository: host + "/flows-reconciler",
		platforms:  []string{"linux/" + runtime.GOARCH},
		push:       true,
		digestFile: filepath.Join(dir, "pushed.txt"),
	}
	if err := run(ctx, o, []string{"reconciler"}); err != nil {
		t.Fatal(err)
	}
	o.push, o.out, o.digestFile = false, dir, filepath.Join(dir, "built.txt")
	if err := run(ctx, o, []string{"reconciler"}); err != nil {
		t.Fatal(err)
	}
	pushed, built := read(t, filepath.Join(dir, "pushed.txt")), read(t, filepath.Join(dir, "built.txt"))
	if pushed != built || !strings.HasPrefix(pushed, host+"/flows-reconciler:v0.0.0-test@sha256:") {
		t.Fatalf("pushed %s, built %s", pushed, built)
	}
	ref, err := name.NewDigest(pushed)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(filepath.Join(dir, "flows-reconciler"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Image(d); err != nil {
		t.Errorf("the pulled image %s is not the one in the layout: %v", d, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "flows-reconciler.tar")); err != nil {
		t.Error(err)
	}
}

func read(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
