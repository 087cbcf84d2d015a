package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubectl-flows/kubectl-flows/image"
)

// Images every real node has, built in Go from this checkout (package
// image) and imported before Start returns. Use them with
// imagePullPolicy Never or IfNotPresent: nothing is ever pulled.
const (
	// PauseImage is the pods' sandbox image (containerd's sandbox_image).
	PauseImage = image.PauseRef
	// BusyboxImage holds Debian's static busybox: /bin/sh and its applets
	// (echo, sleep, cat, ...) on PATH.
	BusyboxImage = image.BusyboxRef
)

// nodeImages builds the pause and busybox images into dir as archives for
// `ctr images import` and returns their paths. Both are built from this
// checkout each time: the pause program is a small cached go build, and
// busybox's Debian package is downloaded once into image.DefaultCacheDir().
func nodeImages(ctx context.Context, dir string) ([]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	created, err := image.Epoch(ctx, root)
	if err != nil {
		return nil, err
	}
	recipes := []struct {
		ref   string
		build func() (v1.Image, error)
	}{
		{PauseImage, func() (v1.Image, error) { return image.Pause(ctx, root, runtime.GOARCH, created) }},
		{BusyboxImage, func() (v1.Image, error) { return image.Busybox(ctx, "", created) }},
	}
	var paths []string
	for i, r := range recipes {
		img, err := r.build()
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", r.ref, err)
		}
		path := filepath.Join(dir, fmt.Sprintf("image-%d.tar", i))
		if err := image.WriteArchive(path, img, r.ref, created); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
