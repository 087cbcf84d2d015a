package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is a v1.Image or a v1.ImageIndex.
type Artifact = mutate.Appendable

// Annotations on the index.json entry of an image: containerd's `ctr
// images import` names the image by io.containerd.image.name (the full
// reference, as the kubelet asks for it), and OCI tools read the tag from
// org.opencontainers.image.ref.name.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// ParseTag parses an image reference with a tag (":latest" when it has
// none), as the kubelet and `docker` read it.
func ParseTag(ref string) (name.Tag, error) {
	t, err := name.NewTag(ref)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return t, nil
}

// FullName is ref as containerd and the kubelet spell it: the registry
// always named, Docker Hub's as docker.io ("busybox" is
// docker.io/library/busybox:latest).
func FullName(t name.Tag) string {
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr()
}

// pinnedName is FullName's repository pinned by digest d.
func pinnedName(t name.Tag, d v1.Hash) string {
	full := FullName(t)
	return full[:strings.LastIndex(full, ":")] + "@" + d.String()
}

// layoutFiles are the files of an OCI image layout holding a (an image or
// an index) tagged ref: oci-layout, index.json and blobs/sha256/.
func layoutFiles(a Artifact, ref name.Tag) ([]File, error) {
	var files []File
	if err := addBlobs(&files, a); err != nil {
		return nil, err
	}
	desc, err := descriptor(a)
	if err != nil {
		return nil, err
	}
	// Under its tag, and pinned by digest: containerd's CRI finds an image
	// by a NAME@sha256 reference only if an image has that name (it gives
	// one to the images it pulls), and no registry is there to pull from.
	byTag, byDigest := desc, desc
	byTag.Annotations = map[string]string{annotationContainerdName: FullName(ref), annotationRefName: ref.TagStr()}
	byDigest.Annotations = map[string]string{annotationContainerdName: pinnedName(ref, desc.Digest)}
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{byTag, byDigest}})
	if err != nil {
		return nil, err
	}
	return append(files,
		Regular("oci-layout", 0o644, []byte(`{"imageLayoutVersion":"1.0.0"}`)),
		Regular("index.json", 0o644, index)), nil
}

func descriptor(a Artifact) (v1.Descriptor, error) {
	mt, err := a.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := a.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := a.Size()
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, err
}

// addBlobs adds the manifest, config and layers of a (for an index, of
// each of its images) under blobs/sha256/, once each.
func addBlobs(files *[]File, a Artifact) error {
	have := map[string]bool{}
	add := func(h v1.Hash, data []byte) {
		if p := "blobs/" + h.Algorithm + "/" + h.Hex; !have[p] {
			have[p] = true
			*files = append(*files, Regular(p, 0o644, data))
		}
	}
	addImage := func(img v1.Image) error {
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				return err
			}
			data, err := readAll(l.Compressed())
			if err != nil {
				return err
			}
			add(d, data)
		}
		if err := addRaw(add, img.RawConfigFile, img.ConfigName); err != nil {
			return err
		}
		return addRaw(add, img.RawManifest, img.Digest)
	}
	switch x := a.(type) {
	case v1.Image:
		return addImage(x)
	case v1.ImageIndex:
		im, err := x.IndexManifest()
		if err != nil {
			return err
		}
		for _, m := range im.Manifests {
			img, err := x.Image(m.Digest)
			if err != nil {
				return err
			}
			if err := addImage(img); err != nil {
				return err
			}
		}
		return addRaw(add, x.RawManifest, x.Digest)
	default:
		return fmt.Errorf("%T is neither an image nor an index", a)
	}
}

// addRaw adds one blob (a manifest, a config) under its digest.
func addRaw(add func(v1.Hash, []byte), raw func() ([]byte, error), digest func() (v1.Hash, error)) error {
	b, err := raw()
	if err != nil {
		return err
	}
	d, err := digest()
	if err != nil {
		return err
	}
	add(d, b)
	return nil
}

func readAll(rc io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// WriteLayout writes a (an image or an index) tagged ref as an OCI image
// layout in dir, replacing the layout there. It refuses to replace a
// directory that is not an OCI layout.
func WriteLayout(dir string, a Artifact, ref string) error {
	t, err := ParseTag(ref)
	if err != nil {
		return err
	}
	files, err := layoutFiles(a, t)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return fmt.Errorf("%s exists and is not an OCI image layout: not replacing it", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	entries, err := normalize(files)
	if err != nil {
		return err
	}
	for _, f := range entries {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if f.Mode.IsDir() {
			err = os.MkdirAll(p, 0o755)
		} else {
			err = os.WriteFile(p, f.Data, 0o644)
		}
		if err != nil {
			return err
		}
	}
	return os.MkdirAll(dir, 0o755)
}

// WriteArchive writes img tagged ref as one tar that `ctr images import`
// and `docker load` both read, as `docker save` writes it: an OCI layout,
// whose index.json containerd imports with the manifest's own digest (so a
// reference pinned by that digest finds the image), and Docker's
// manifest.json naming the tag. Entries are sorted and dated mtime.
func WriteArchive(path string, img v1.Image, ref string, mtime time.Time) error {
	t, err := ParseTag(ref)
	if err != nil {
		return err
	}
	files, err := layoutFiles(img, t)
	if err != nil {
		return err
	}
	cn, err := img.ConfigName()
	if err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	type dockerManifest struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	dm := dockerManifest{Config: "blobs/sha256/" + cn.Hex, RepoTags: []string{FullName(t)}}
	for _, l := range m.Layers {
		dm.Layers = append(dm.Layers, "blobs/sha256/"+l.Digest.Hex)
	}
	mj, err := json.Marshal([]dockerManifest{dm})
	if err != nil {
		return err
	}
	files = append(files, Regular("manifest.json", 0o644, mj))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteTar(f, files, mtime); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// Push uploads a (an image or an index) to the registry as ref and returns
// the reference pinned by digest. Credentials are Docker's (the config
// file of `docker login`, $DOCKER_CONFIG, credential helpers); opts come
// after, so a test can give its own transport.
func Push(ctx context.Context, ref string, a Artifact, opts ...remote.Option) (name.Digest, error) {
	t, err := ParseTag(ref)
	if err != nil {
		return name.Digest{}, err
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	switch x := a.(type) {
	case v1.Image:
		err = remote.Write(t, x, opts...)
	case v1.ImageIndex:
		err = remote.WriteIndex(t, x, opts...)
	default:
		err = fmt.Errorf("%T is neither an image nor an index", a)
	}
	if err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s: %w", t, err)
	}
	d, err := a.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	return t.Context().Digest(d.String()), nil
}
