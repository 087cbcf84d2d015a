package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aymanbagabas/go-udiff"
)

// Write puts the output into dir and removes files an earlier render wrote
// that this one no longer produces (a deleted deployment, say). Files
// without the generated header are never touched.
func (o *Output) Write(dir string) error {
	stale, err := generatedFiles(dir)
	if err != nil {
		return err
	}
	for _, p := range o.Paths() {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(full); err == nil && bytes.Equal(old, o.Files[p]) {
			delete(stale, p)
			continue // leave mtimes alone when nothing changed
		}
		if err := os.WriteFile(full, o.Files[p], 0o644); err != nil {
			return err
		}
		delete(stale, p)
	}
	for _, p := range sortedKeys(stale) {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			return err
		}
	}
	return nil
}

// Diff compares the output with what dir holds and returns a unified diff,
// empty when they match byte for byte.
func (o *Output) Diff(dir string) (string, error) {
	existing, err := generatedFiles(dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range o.Paths() {
		old, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		delete(existing, p)
		if !bytes.Equal(old, o.Files[p]) {
			oldLabel := "a/" + p
			if old == nil {
				oldLabel = "/dev/null"
			}
			b.WriteString(udiff.Unified(oldLabel, "b/"+p, string(old), string(o.Files[p])))
		}
	}
	for _, p := range sortedKeys(existing) {
		old, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return "", err
		}
		b.WriteString(udiff.Unified("a/"+p, "/dev/null", string(old), ""))
	}
	return b.String(), nil
}

// generatedFiles lists the files under dir that carry the header, by
// slash-separated path relative to dir.
func generatedFiles(dir string) (map[string]bool, error) {
	found := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		head := make([]byte, len(Header))
		n, _ := f.Read(head)
		f.Close()
		if string(head[:n]) == Header {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			found[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return found, nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
