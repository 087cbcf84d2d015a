package image

import (
	"context"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubectl-flows/kubectl-flows/internal/gobuild"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// NonRoot is the user the project's images run as, the one the rendered
// reconciler Deployment's securityContext names (runAsUser 65532).
const NonRoot = "65532:65532"

// ReconcilerRef is the name and tag `kubectl flows render` of a plugin of
// version gives the reconciler by default, so an image built for version
// and imported into a node's containerd under it is the one a rendered
// install runs.
func ReconcilerRef(version string) string { return project.ReconcilerImage(version) }

// ReconcilerBinary builds cmd/flows-reconciler for linux/arch, static and
// reproducible (see gobuild.Build), with version stamped. dir is a
// directory inside this module ("" is the working directory).
func ReconcilerBinary(ctx context.Context, dir, version, arch string) ([]byte, error) {
	return gobuild.Build(ctx, gobuild.Options{Dir: dir, Package: gobuild.Module + "/cmd/flows-reconciler", Version: version, GOOS: "linux", GOARCH: arch})
}

// Reconciler is the reconciler's image: the static binary at
// /flows-reconciler, run as 65532, and /etc/passwd and /etc/group naming
// that user (so the process has a name and a home, as tools that look it
// up expect). Nothing else: no shell, no libc, no CA certificates, since
// the reconciler talks only to the API server, whose CA comes with the
// pod's ServiceAccount token.
func Reconciler(binary []byte, version, arch string, created time.Time) (v1.Image, error) {
	files := append(accounts(), Regular("flows-reconciler", 0o755, binary))
	l, err := Layer(files, created)
	if err != nil {
		return nil, err
	}
	return Build(Config{
		User:       NonRoot,
		Entrypoint: []string{"/flows-reconciler"},
		Labels: map[string]string{
			"org.opencontainers.image.source":   "https://github.com/kubectl-flows/kubectl-flows",
			"org.opencontainers.image.licenses": "Apache-2.0",
			"org.opencontainers.image.title":    "flows-reconciler",
			"org.opencontainers.image.version":  version,
		},
		Arch:    arch,
		Created: created,
	}, l)
}

// accounts are /etc/passwd and /etc/group naming root, nobody and nonroot
// (65532), with no login shell and no password.
func accounts() []File {
	return []File{
		Regular("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"+
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")),
		Regular("etc/group", 0o644, []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")),
	}
}
