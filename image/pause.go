package image

import (
	"context"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubectl-flows/kubectl-flows/internal/gobuild"
)

// PauseRef is the name a test node's containerd is given as its
// sandbox_image. It is local: no registry serves it.
const PauseRef = "localhost/kubectl-flows/pause:v1"

// Pause builds the pause image: the static program of image/pause alone,
// run as 65535 as Kubernetes' pause image is. dir is a directory inside
// this module ("" is the working directory); arch is a GOARCH.
func Pause(ctx context.Context, dir, arch string, created time.Time) (v1.Image, error) {
	bin, err := gobuild.Build(ctx, gobuild.Options{Dir: dir, Package: gobuild.Module + "/image/pause", Version: "v1", GOOS: "linux", GOARCH: arch})
	if err != nil {
		return nil, err
	}
	l, err := Layer([]File{Regular("pause", 0o755, bin)}, created)
	if err != nil {
		return nil, err
	}
	return Build(Config{User: "65535:65535", Entrypoint: []string{"/pause"}, Arch: arch, Created: created}, l)
}
