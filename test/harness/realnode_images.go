package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"time"

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

// builtImages keeps the node images a process has built: every real node
// it starts gets the same ones, written out again (in memory, that is
// quick).
var builtImages struct {
	sync.Mutex
	created time.Time
	images  map[string]v1.Image
}

// nodeImages writes the pause and busybox images into dir as archives for
// `ctr images import` and returns their paths. They are built from this
// checkout, once per process: the pause program is a small cached go build,
// and busybox's Debian package is downloaded once into
// image.DefaultCacheDir().
func nodeImages(ctx context.Context, dir string) ([]string, error) {
	builtImages.Lock()
	defer builtImages.Unlock()
	if builtImages.images == nil {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		created, err := image.Epoch(ctx, root)
		if err != nil {
			return nil, err
		}
		pause, err := image.Pause(ctx, root, runtime.GOARCH, created)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", PauseImage, err)
		}
		busybox, err := image.Busybox(ctx, "", created)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", BusyboxImage, err)
		}
		builtImages.created = created
		builtImages.images = map[string]v1.Image{PauseImage: pause, BusyboxImage: busybox}
	}
	var paths []string
	for i, ref := range []string{PauseImage, BusyboxImage} {
		path := filepath.Join(dir, fmt.Sprintf("image-%d.tar", i))
		if err := image.WriteArchive(path, builtImages.images[ref], ref, builtImages.created); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
