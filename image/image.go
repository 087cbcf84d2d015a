// Package image builds OCI images in process, deterministically and
// without a container engine or registry: the reconciler's image (`make
// image`), and the images a real node in the tests runs (a pause image, a
// busybox and the examples' Python flow image, from Debian's packages).
//
// The same inputs give the same digest: layers are tars with sorted
// entries, owner 0:0 and one modification time (SOURCE_DATE_EPOCH or the
// commit's time, see Epoch), compressed with no gzip timestamp; the config's
// dates are that time too; the media types are OCI's. An image is written
// as an OCI layout directory, as one tar that both `ctr images import` and
// `docker load` read, or pushed to a registry.
package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Config is what an image says about running it (the OCI config's
// "config"), plus its platform and creation time.
type Config struct {
	// User is "UID" or "UID:GID"; numeric, so that Kubernetes can check
	// runAsNonRoot without a passwd file.
	User       string
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	Labels     map[string]string
	// Arch is the GOARCH the image's binaries are built for ("" is amd64).
	Arch string
	// Created dates the config and the history of every layer.
	Created time.Time
}

// Build makes a linux image of the layers, bottom first, with OCI media
// types for the manifest, the config and the layers (empty.Image would
// give Docker's).
func Build(cfg Config, layers ...v1.Layer) (v1.Image, error) {
	created := v1.Time{Time: cfg.Created.UTC().Truncate(time.Second)}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: l, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "kubectl-flows image"}}
	}
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", cfg.Arch
	if cf.Architecture == "" {
		cf.Architecture = "amd64"
	}
	cf.Created = created
	cf.Config = v1.Config{
		User:       cfg.User,
		Entrypoint: cfg.Entrypoint,
		Cmd:        cfg.Cmd,
		Env:        cfg.Env,
		WorkingDir: cfg.WorkingDir,
		Labels:     cfg.Labels,
	}
	return mutate.ConfigFile(img, cf)
}

// Index makes an OCI image index of one image per platform, for a release
// that serves several architectures under one digest.
func Index(imgs ...v1.Image) (v1.ImageIndex, error) {
	adds := make([]mutate.IndexAddendum, len(imgs))
	for i, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		adds[i] = mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Platform:  &v1.Platform{OS: cf.OS, Architecture: cf.Architecture},
		}}
	}
	return mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex), nil
}

// Epoch is the time every file and date of an image gets: SOURCE_DATE_EPOCH
// (seconds since 1970) when set, else the time of the commit checked out in
// dir, so two builds of one commit agree without being told.
func Epoch(ctx context.Context, dir string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970, e.g. $(git log -1 --format=%%ct)", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	cmd := exec.CommandContext(ctx, "git", "log", "-1", "--format=%ct")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return time.Time{}, fmt.Errorf("no SOURCE_DATE_EPOCH and no git commit to date the image by (git log: %v): set SOURCE_DATE_EPOCH", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git log -1 --format=%%ct said %q", out)
	}
	return time.Unix(n, 0).UTC(), nil
}
