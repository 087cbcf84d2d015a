package review

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// git runs git in dir and returns its trimmed output; the error carries
// git's own message.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// RepoRoot is the top of the git work tree holding dir.
func RepoRoot(dir string) (string, error) {
	root, err := git(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", fmt.Errorf("%s is not in a git repository (review compares with a git ref; to compare two rendered directories, pass them both): %w", dir, err)
	}
	return root, nil
}

// DefaultBase is the merge base of HEAD with the default branch: the
// remote's HEAD (origin/HEAD) when it is known, else the first of
// origin/main, origin/master, main, master that exists.
func DefaultBase(dir string) (string, error) {
	candidates := []string{}
	if ref, err := git(dir, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"); err == nil {
		candidates = append(candidates, strings.TrimPrefix(ref, "refs/remotes/"))
	}
	candidates = append(candidates, "origin/main", "origin/master", "main", "master")
	for _, c := range candidates {
		if _, err := git(dir, "rev-parse", "--verify", "--quiet", c+"^{commit}"); err != nil {
			continue
		}
		mb, err := git(dir, "merge-base", "HEAD", c)
		if err != nil {
			return "", err
		}
		return mb, nil
	}
	return "", errors.New("no default branch found (tried origin/HEAD, origin/main, origin/master, main, master): pass --base REF")
}

// ShortSHA names a ref's commit as `git rev-parse --short` does.
func ShortSHA(dir, ref string) (string, error) {
	return git(dir, "rev-parse", "--short", ref+"^{commit}")
}

// Export writes the tree of ref into a new temporary directory, from `git
// archive`, so the base side is read from files as the working tree is,
// without touching the repository's index or work trees. The caller
// removes the directory.
func Export(repo, ref string) (string, error) {
	if _, err := git(repo, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		return "", fmt.Errorf("--base %s is not a commit of %s (in CI, fetch it first, e.g. actions/checkout with fetch-depth: 0)", ref, repo)
	}
	dir, err := os.MkdirTemp("", "flows-review-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("git", "archive", "--format=tar", ref)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	untarErr := untar(out, dir)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("git archive %s: %v: %s", ref, err, strings.TrimSpace(stderr.String()))
	}
	if untarErr != nil {
		os.RemoveAll(dir)
		return "", untarErr
	}
	return dir, nil
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if name == "." || strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			continue
		}
		dst := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm()|0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
		}
	}
}
