package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var epoch = time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)

func testImage(t *testing.T, files []File) v1.Image {
	t.Helper()
	l, err := Layer(files, epoch)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(Config{User: "65532:65532", Entrypoint: []string{"/app"}, Created: epoch, Labels: map[string]string{"b": "2", "a": "1"}}, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func sampleFiles() []File {
	return []File{
		Regular("usr/bin/app", 0o755, []byte("binary")),
		Symlink("bin", "usr/bin"),
		Regular("/etc/passwd", 0o644, []byte("nonroot:x:65532:65532::/:/sbin/nologin\n")),
		Dir("tmp", 0o777|fs.ModeSticky),
	}
}

// tarEntries lists a layer's tar headers in order.
func tarEntries(t *testing.T, rc io.ReadCloser) []*tar.Header {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	var hs []*tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func digest(t *testing.T, a Artifact) v1.Hash {
	t.Helper()
	d, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSameFilesSameDigest(t *testing.T) {
	a := digest(t, testImage(t, sampleFiles()))
	// The same files listed in another order.
	files := sampleFiles()
	files[0], files[3] = files[3], files[0]
	if b := digest(t, testImage(t, files)); a != b {
		t.Errorf("the same files in another order gave %s, then %s", a, b)
	}
	changed := sampleFiles()
	changed[0].Data = []byte("binarY")
	if c := digest(t, testImage(t, changed)); c == a {
		t.Errorf("a changed byte kept digest %s", a)
	}
}

func TestOCIMediaTypes(t *testing.T) {
	img := testImage(t, sampleFiles())
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s, config %s: want OCI's", m.MediaType, m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %s: media type %s, want %s", l.Digest, l.MediaType, types.OCILayer)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(epoch) || cf.Config.User != "65532:65532" {
		t.Errorf("config: os %s arch %s created %v user %q", cf.OS, cf.Architecture, cf.Created, cf.Config.User)
	}
	for _, h := range cf.History {
		if !h.Created.Equal(epoch) {
			t.Errorf("history dated %v, want %v", h.Created, epoch)
		}
	}
}

func TestLayerSortedOwnedByRootDatedEpoch(t *testing.T) {
	l, err := Layer(sampleFiles(), epoch)
	if err != nil {
		t.Fatal(err)
	}
	hs := tarEntries(t, must(l.Uncompressed()))
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d (%q:%q), want 0:0 unnamed", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, epoch)
		}
	}
	want := "bin etc/ etc/passwd tmp/ usr/ usr/bin/ usr/bin/app"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries %q, want %q (sorted, parents added)", got, want)
	}
	modes := map[string]int64{}
	for _, h := range hs {
		modes[h.Name] = h.Mode
	}
	if modes["tmp/"] != 0o1777 || modes["usr/bin/app"] != 0o755 || modes["etc/"] != 0o755 {
		t.Errorf("modes %v (decimal)", modes)
	}
}

func TestLayerRefusesBadEntries(t *testing.T) {
	for name, files := range map[string][]File{
		"duplicate":      {Regular("a", 0o644, nil), Regular("/a", 0o644, nil)},
		"file as parent": {Regular("a", 0o644, nil), Regular("a/b", 0o644, nil)},
		"device":         {{Path: "dev/null", Mode: fs.ModeDevice | 0o666}},
	} {
		if _, err := Layer(files, epoch); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestArchiveIsOCILayoutAndDockerSave reads the archive back as both
// containerd (index.json, with the manifest's digest and the full name)
// and Docker (manifest.json) would.
func TestArchiveIsOCILayoutAndDockerSave(t *testing.T) {
	img := testImage(t, sampleFiles())
	dir := t.TempDir()
	archive := filepath.Join(dir, "img.tar")
	if err := WriteArchive(archive, img, "busybox", epoch); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(dir, "again.tar")
	if err := WriteArchive(again, testImage(t, sampleFiles()), "busybox", epoch); err != nil {
		t.Fatal(err)
	}
	a, b := must(os.ReadFile(archive)), must(os.ReadFile(again))
	if !bytes.Equal(a, b) {
		t.Error("two archives of the same image differ")
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(a))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = must(io.ReadAll(tr))
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	d := digest(t, img)
	if len(idx.Manifests) != 2 || idx.Manifests[0].Digest != d || idx.Manifests[1].Digest != d ||
		idx.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/library/busybox:latest" ||
		idx.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "latest" ||
		idx.Manifests[1].Annotations["io.containerd.image.name"] != "docker.io/library/busybox@"+d.String() {
		t.Errorf("index.json %s: want the manifest %s named docker.io/library/busybox:latest and pinned by its digest", files["index.json"], d)
	}
	if _, ok := files["blobs/sha256/"+d.Hex]; !ok {
		t.Errorf("no manifest blob %s", d)
	}
	var dm []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &dm); err != nil {
		t.Fatal(err)
	}
	if len(dm) != 1 || len(dm[0].RepoTags) != 1 || dm[0].RepoTags[0] != "docker.io/library/busybox:latest" {
		t.Fatalf("manifest.json %s", files["manifest.json"])
	}
	for _, p := range append([]string{dm[0].Config}, dm[0].Layers...) {
		if _, ok := files[p]; !ok {
			t.Errorf("manifest.json names %s, which the archive lacks", p)
		}
	}
}

func TestLayoutReadsBack(t *testing.T) {
	img := testImage(t, sampleFiles())
	dir := filepath.Join(t.TempDir(), "layout")
	for range 2 { // the second write replaces the first
		if err := WriteLayout(dir, img, "ghcr.io/kubectl-flows/flows-reconciler:v1.2.3"); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Image(digest(t, img))
	if err != nil {
		t.Fatal(err)
	}
	if err := sameLayers(img, got); err != nil {
		t.Error(err)
	}
	if err := WriteLayout(t.TempDir(), img, "x"); err == nil {
		t.Error("WriteLayout replaced a directory that is not a layout")
	}
}

func sameLayers(a, b v1.Image) error {
	la, err := a.Layers()
	if err != nil {
		return err
	}
	lb, err := b.Layers()
	if err != nil {
		return err
	}
	if len(la) != len(lb) {
		return errors.New("layer counts differ")
	}
	for i := range la {
		da, _ := la[i].Digest()
		db, _ := lb[i].Digest()
		ca, err := readAll(la[i].Compressed())
		if err != nil {
			return err
		}
		cb, err := readAll(lb[i].Compressed())
		if err != nil {
			return err
		}
		if da != db || !bytes.Equal(ca, cb) {
			return errors.New("layer " + da.String() + " differs from " + db.String())
		}
	}
	return nil
}

// TestPushPullByDigest pushes to a registry served in process and pulls
// the image back by the digest Push returned.
func TestPushPullByDigest(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img := testImage(t, sampleFiles())
	pinned, err := Push(context.Background(), host+"/flows-reconciler:v1.2.3", img)
	if err != nil {
		t.Fatal(err)
	}
	if pinned.DigestStr() != digest(t, img).String() {
		t.Errorf("Push returned %s, the image is %s", pinned, digest(t, img))
	}
	ref, err := name.NewDigest(pinned.String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, got) != digest(t, img) {
		t.Errorf("pulled %s, pushed %s", digest(t, got), digest(t, img))
	}
	if err := sameLayers(img, got); err != nil {
		t.Error(err)
	}
	// The tag names the same manifest.
	byTag, err := remote.Head(must(name.NewTag(host + "/flows-reconciler:v1.2.3")))
	if err != nil {
		t.Fatal(err)
	}
	if byTag.Digest != digest(t, img) {
		t.Errorf("tag names %s", byTag.Digest)
	}
}

func TestPushIndex(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(nopLogger())))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	amd := testImage(t, sampleFiles())
	l, _ := Layer(sampleFiles(), epoch)
	arm, err := Build(Config{Arch: "arm64", Created: epoch}, l)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Index(amd, arm)
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := Push(context.Background(), host+"/r:v1", idx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(pinned)
	if err != nil {
		t.Fatal(err)
	}
	im, err := got.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 2 || im.Manifests[1].Platform.Architecture != "arm64" {
		t.Errorf("index %+v", im)
	}
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
