package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"github.com/kubectl-flows/kubectl-flows/internal/parallel"
)

// Write puts the output into dir and removes files an earlier render wrote
// that this one no longer produces (a deleted deployment, say). Files
// without the generated header are never removed.
func (o *Output) Write(dir string) error {
	if o.objectsOnly {
		return errObjectsOnly
	}
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	paths := o.Paths()
	old, err := readExisting(dir, paths, files)
	if err != nil {
		return err
	}
	made := map[string]bool{}
	for _, p := range paths {
		if d := filepath.Dir(filepath.Join(dir, filepath.FromSlash(p))); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			made[d] = true
		}
	}
	// One file at a time: threads creating files in one directory contend
	// for it in the kernel, which spins, so writing a thousand new files
	// from several threads takes no less time and much more CPU. Reading
	// them (readExisting) does scale.
	for i, p := range paths {
		if old[i] != nil && bytes.Equal(old[i], o.Files[p]) {
			continue // leave mtimes alone when nothing changed
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), o.Files[p], 0o644); err != nil {
			return err
		}
	}
	stale, err := o.staleFiles(dir, files)
	if err != nil {
		return err
	}
	for _, p := range stale {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			return err
		}
	}
	return nil
}

// Diff compares the output with what dir holds and returns a unified diff,
// empty when they match byte for byte.
func (o *Output) Diff(dir string) (string, error) {
	if o.objectsOnly {
		return "", errObjectsOnly
	}
	files, err := listFiles(dir)
	if err != nil {
		return "", err
	}
	paths := o.Paths()
	old, err := readExisting(dir, paths, files)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, p := range paths {
		if !bytes.Equal(old[i], o.Files[p]) {
			oldLabel := "a/" + p
			if old[i] == nil {
				oldLabel = "/dev/null"
			}
			b.WriteString(udiff.Unified(oldLabel, "b/"+p, string(old[i]), string(o.Files[p])))
		}
	}
	stale, err := o.staleFiles(dir, files)
	if err != nil {
		return "", err
	}
	for _, p := range stale {
		old, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return "", err
		}
		b.WriteString(udiff.Unified("a/"+p, "/dev/null", string(old), ""))
	}
	return b.String(), nil
}

var errObjectsOnly = errors.New("render: an output rendered with ObjectsOnly has no files to write or compare")

// listFiles lists the files under dir by slash-separated path relative to
// dir; none when dir does not exist.
func listFiles(dir string) (map[string]bool, error) {
	found := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		found[filepath.ToSlash(rel)] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return found, nil
}

// readExisting reads, on every core, the files of dir at paths that are
// among files; nil for the others. A render of a thousand deployments
// over the last one reads a thousand files.
func readExisting(dir string, paths []string, files map[string]bool) ([][]byte, error) {
	old := make([][]byte, len(paths))
	errs := make([]error, len(paths))
	parallel.Each(len(paths), func(i int) {
		if files[paths[i]] {
			old[i], errs[i] = os.ReadFile(filepath.Join(dir, filepath.FromSlash(paths[i])))
		}
	})
	return old, errors.Join(errs...)
}

// staleFiles lists, sorted, the files among files (those under dir) that
// carry the header and that the output no longer has.
func (o *Output) staleFiles(dir string, files map[string]bool) ([]string, error) {
	var stale []string
	for _, p := range sortedKeys(files) {
		if _, ok := o.Files[p]; ok {
			continue
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", dir, err)
		}
		head := make([]byte, len(Header))
		n, _ := io.ReadFull(f, head)
		f.Close()
		if string(head[:n]) == Header {
			stale = append(stale, p)
		}
	}
	return stale, nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
