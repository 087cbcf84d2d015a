package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/kubectl-flows/kubectl-flows/entrypoint"
)

func TestDependencies(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      map[string][]string
	}{
		{"plain and pre-depends", `python3-minimal
  PreDepends: python3.11-minimal
  Depends: dpkg
python3.11-minimal
  PreDepends: libc6
  Depends: zlib1g
libc6
`, map[string][]string{"python3-minimal": {"python3.11-minimal", "dpkg"}, "python3.11-minimal": {"libc6", "zlib1g"}}},
		{"the first alternative", `libpython3.11-stdlib
  Depends: libpython3.11-minimal
 |Depends: media-types
  Depends: mime-support
  Depends: libc6
`, map[string][]string{"libpython3.11-stdlib": {"libpython3.11-minimal", "media-types", "libc6"}}},
		{"a virtual package's first provider, also as the group's last", `tzdata
 |Depends: <awk>
    mawk
    gawk
  Depends: debconf
  Depends: <debconf-2.0>
    cdebconf
    debconf
  Recommends: foo
  Depends: python3:any
`, map[string][]string{"tzdata": {"mawk", "cdebconf", "python3"}}},
	} {
		if got := dependencies([]byte(tc.out)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// needDebian skips a test that needs apt and dpkg-deb (and root, for
// chroot, when asRoot), or fails it in CI, where they must be there.
func needDebian(t *testing.T, asRoot bool) {
	t.Helper()
	var why string
	switch {
	case haveApt() != nil:
		why = ErrNoApt.Error()
	case asRoot && os.Geteuid() != 0:
		why = "running the image's python with chroot needs root"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", why)
	}
	t.Skipf("%s; run as root on Debian after apt-get update to test the flow image", why)
}

func TestBusyboxImage(t *testing.T) {
	needDebian(t, false)
	img, err := Busybox(context.Background(), "", epoch)
	if err != nil {
		t.Fatal(err)
	}
	paths := strings.Join(layerPaths(t, img), " ")
	for _, p := range []string{"bin/busybox", "bin/sh", "bin/sleep", "etc/passwd", "tmp/"} {
		if !strings.Contains(" "+paths+" ", " "+p+" ") {
			t.Errorf("the busybox image has no %s", p)
		}
	}
}

// TestHelloFlowRuns builds the hello example's image, unpacks it, and runs
// the hello flow as its Jobs do (`python -c <runner>` with the run's
// parameters), chrooted into it as the image's user, with its environment
// and working directory.
func TestHelloFlowRuns(t *testing.T) {
	needDebian(t, true)
	ctx := context.Background()
	img, err := HelloFlow(ctx, moduleRoot(t), "v0.0.0-test", "", epoch)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || cf.Config.WorkingDir != "/app" {
		t.Errorf("user %q in %q: want 65532:65532 in /app (restricted Pod Security needs a numeric non-root user)", cf.Config.User, cf.Config.WorkingDir)
	}
	root := unpack(t, img)
	out, err := runIn(root, cf.Config, []string{"FLOWS_ENTRYPOINT=flows/hello.py:hello", `FLOWS_PARAMETERS={"name": "Ford"}`}, entrypoint.Args(entrypoint.Python)...)
	if err != nil || strings.TrimSpace(out) != "Hello, Ford!" {
		t.Errorf("the runner: %v\n%s", err, out)
	}
	out, err = runIn(root, cf.Config, nil, "python", "-c", "import os, ssl, sqlite3, asyncio; print(os.getuid(), os.getgid(), os.getcwd())")
	if err != nil || strings.TrimSpace(out) != "65532 65532 /app" {
		t.Errorf("python as the image's user: %v\n%s", err, out)
	}
	out, err = runIn(root, cf.Config, nil, "kubectl-flows", "version", "--client")
	if err != nil || !strings.Contains(out, "v0.0.0-test") {
		t.Errorf("the plugin in the image: %v\n%s", err, out)
	}
	out, err = runIn(root, cf.Config, nil, cf.Config.Cmd...)
	if err != nil || !strings.Contains(out, "Hello, world!") {
		t.Errorf("the image's default command %q: %v\n%s", cf.Config.Cmd, err, out)
	}
}

// unpack writes img's file system into a new directory.
func unpack(t *testing.T, img v1.Image) string {
	t.Helper()
	root := t.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Fatalf("entry %q outside the root", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, os.FileMode(h.Mode).Perm())
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, data, os.FileMode(h.Mode).Perm())
			}
		default:
			t.Fatalf("entry %q of type %c", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeSymlink {
			if err := os.Chmod(p, os.FileMode(h.Mode).Perm()); err != nil { // past the umask
				t.Fatal(err)
			}
		}
	}
}

// runIn runs argv chrooted into root as a container of cfg would run:
// argv[0] found on the image's PATH, as its user, in its working directory,
// with its environment plus env.
func runIn(root string, cfg v1.Config, env []string, argv ...string) (string, error) {
	prog := argv[0]
	for _, kv := range cfg.Env {
		if dirs, ok := strings.CutPrefix(kv, "PATH="); ok && !strings.Contains(prog, "/") {
			for _, d := range strings.Split(dirs, ":") {
				if _, err := os.Stat(filepath.Join(root, d, prog)); err == nil {
					prog = filepath.Join(d, prog)
					break
				}
			}
		}
	}
	uid, gid, _ := strings.Cut(cfg.User, ":")
	u, err := strconv.ParseUint(uid, 10, 32)
	if err != nil {
		return "", err
	}
	g, err := strconv.ParseUint(gid, 10, 32)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd := &exec.Cmd{
		Path:   prog, // inside root: exec.Command would look it up outside
		Args:   argv,
		Env:    append(append([]string(nil), cfg.Env...), env...),
		Dir:    cfg.WorkingDir,
		Stdout: &out,
		Stderr: &out,
		SysProcAttr: &syscall.SysProcAttr{
			Chroot:     root,
			Credential: &syscall.Credential{Uid: uint32(u), Gid: uint32(g)},
		},
	}
	err = cmd.Run()
	return out.String(), err
}
