// Command image builds the project's OCI images in process, with no
// container engine and no registry (see docs/image.md):
//
//	go run ./hack/image --version v0.1.0 [--out bin/images] [IMAGE...]
//
// IMAGE is reconciler (the default), pause, busybox or hello-flow. Each is
// written to OUT/NAME/ (an OCI image layout) and OUT/NAME.tar (for `ctr -n
// k8s.io images import` and `docker load`), and its reference and digest
// printed on stdout. --push pushes the reconciler instead, with Docker's
// credentials; --platforms builds it for several architectures as one
// index (a layout only: an archive holds one platform). Files and dates
// come from SOURCE_DATE_EPOCH or the commit's time, so two builds of a
// commit give the same digests.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubectl-flows/kubectl-flows/image"
	"github.com/kubectl-flows/kubectl-flows/project"
)

type options struct {
	version    string
	repository string
	out        string
	platforms  []string
	push       bool
	digestFile string
	cacheDir   string
	epoch      time.Time
}

func main() {
	var o options
	var platforms string
	flag.StringVar(&o.version, "version", "dev", "version stamped into the binaries; it tags the reconciler as `kubectl flows render` of that version names it")
	flag.StringVar(&o.repository, "image", project.DefaultReconcilerImage, "the reconciler's repository, or repository:tag")
	flag.StringVar(&o.out, "out", filepath.Join("bin", "images"), "directory the layouts and archives are written to")
	flag.StringVar(&platforms, "platforms", "linux/"+runtime.GOARCH, "the reconciler's platforms, comma-separated (linux/amd64,linux/arm64)")
	flag.BoolVar(&o.push, "push", false, "push the reconciler to --image instead of writing files")
	flag.StringVar(&o.digestFile, "digest-file", "", "also write the reconciler's reference pinned by digest to this file")
	flag.StringVar(&o.cacheDir, "cache", image.DefaultCacheDir(), "where the Debian packages' root filesystems are kept")
	flag.Parse()
	o.platforms = strings.Split(platforms, ",")
	names := flag.Args()
	if len(names) == 0 {
		names = []string{"reconciler"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, names); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, names []string) error {
	epoch, err := image.Epoch(ctx, "")
	if err != nil {
		return err
	}
	o.epoch = epoch
	for _, n := range names {
		if n != "reconciler" && o.push {
			return fmt.Errorf("--push pushes the reconciler only, not %s", n)
		}
		start := time.Now()
		var a image.Artifact
		var ref string
		switch n {
		case "reconciler":
			a, ref, err = reconciler(ctx, o)
		case "pause":
			ref = image.PauseRef
			a, err = image.Pause(ctx, "", runtime.GOARCH, epoch)
		case "busybox":
			ref = image.BusyboxRef
			a, err = image.Busybox(ctx, o.cacheDir, epoch)
		case "hello-flow":
			ref = image.HelloFlowRef
			a, err = image.HelloFlow(ctx, ".", o.version, o.cacheDir, epoch)
		default:
			return fmt.Errorf("no image %q: want reconciler, pause, busybox or hello-flow", n)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if err := emit(ctx, o, n, ref, a); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		fmt.Fprintf(os.Stderr, "image: %s in %v\n", n, time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

// reconciler builds the reconciler for each platform: one image, or an
// index of them.
func reconciler(ctx context.Context, o options) (image.Artifact, string, error) {
	ref := o.repository
	if !hasTag(ref) {
		_, tag, _ := strings.Cut(strings.TrimPrefix(project.ReconcilerImage(o.version), project.DefaultReconcilerImage), ":")
		ref += ":" + tag
	}
	var imgs []v1.Image
	for _, p := range o.platforms {
		goos, arch, ok := strings.Cut(p, "/")
		if !ok || goos != "linux" {
			return nil, "", fmt.Errorf("platform %q: want linux/GOARCH", p)
		}
		bin, err := image.ReconcilerBinary(ctx, "", o.version, arch)
		if err != nil {
			return nil, "", err
		}
		img, err := image.Reconciler(bin, o.version, arch, o.epoch)
		if err != nil {
			return nil, "", err
		}
		imgs = append(imgs, img)
	}
	if len(imgs) == 1 {
		return imgs[0], ref, nil
	}
	idx, err := image.Index(imgs...)
	return idx, ref, err
}

// hasTag reports whether ref names a tag (a colon after the last slash).
func hasTag(ref string) bool {
	return strings.LastIndex(ref, ":") > strings.LastIndex(ref, "/")
}

// emit pushes a, or writes its layout and (for one image) its archive,
// and prints its reference pinned by digest.
func emit(ctx context.Context, o options, n, ref string, a image.Artifact) error {
	d, err := a.Digest()
	if err != nil {
		return err
	}
	pinned := ref + "@" + d.String()
	if o.push {
		p, err := image.Push(ctx, ref, a)
		if err != nil {
			return err
		}
		pinned = ref + "@" + p.DigestStr()
	} else {
		base := n
		if n == "reconciler" {
			base = "flows-reconciler"
		}
		if err := writeFiles(o, base, ref, a); err != nil {
			return err
		}
	}
	fmt.Println(pinned)
	if n == "reconciler" && o.digestFile != "" {
		return os.WriteFile(o.digestFile, []byte(pinned+"\n"), 0o644)
	}
	return nil
}

func writeFiles(o options, base, ref string, a image.Artifact) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	layoutDir := filepath.Join(o.out, base)
	if err := image.WriteLayout(layoutDir, a, ref); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "image: %s (OCI layout)\n", layoutDir)
	img, ok := a.(v1.Image)
	if !ok {
		return nil // an index: several platforms do not fit one archive
	}
	archive := layoutDir + ".tar"
	if err := image.WriteArchive(archive, img, ref, o.epoch); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "image: %s (ctr -n k8s.io images import, docker load)\n", archive)
	return nil
}
