package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one entry of a layer: a directory, a regular file or a symlink.
// Owner and modification time are the layer's, never the file's.
type File struct {
	// Path is slash-separated and relative to the image's root
	// ("usr/bin/python3"); a leading "/" is dropped.
	Path string
	// Mode holds the type (fs.ModeDir, fs.ModeSymlink, or none for a
	// regular file) and the permissions, with setuid, setgid and sticky.
	Mode fs.FileMode
	// Data is a regular file's contents.
	Data []byte
	// Link is a symlink's target.
	Link string
}

// Dir is a directory entry.
func Dir(name string, perm fs.FileMode) File { return File{Path: name, Mode: fs.ModeDir | perm} }

// Regular is a regular file entry.
func Regular(name string, perm fs.FileMode, data []byte) File {
	return File{Path: name, Mode: perm, Data: data}
}

// Symlink is a symbolic link entry.
func Symlink(name, target string) File {
	return File{Path: name, Mode: fs.ModeSymlink | 0o777, Link: target}
}

// Layer makes a gzip-compressed OCI layer of files. The tar has every
// entry's parent directories (0755 where not listed), entries sorted by
// path, owner 0:0 with no user or group names, and mtime as every entry's
// modification time, so the same files give the same digest.
func Layer(files []File, mtime time.Time) (v1.Layer, error) {
	blob, err := layerBlob(files, mtime)
	if err != nil {
		return nil, err
	}
	return blobLayer(blob)
}

// layerBlob is the compressed tar of a layer. The gzip header carries no
// name and no time.
func layerBlob(files []File, mtime time.Time) ([]byte, error) {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if err := WriteTar(zw, files, mtime); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}

func blobLayer(blob []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// WriteTar writes files as a deterministic tar (see Layer).
func WriteTar(w io.Writer, files []File, mtime time.Time) error {
	entries, err := normalize(files)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	for _, f := range entries {
		hdr := &tar.Header{
			Name:    f.Path,
			Mode:    tarMode(f.Mode),
			ModTime: mtime.UTC().Truncate(time.Second),
		}
		switch {
		case f.Mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, f.Path+"/"
		case f.Mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Link
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// normalize cleans the paths, refuses duplicates and entries that are not a
// directory, a file or a symlink, adds missing parent directories and sorts.
func normalize(files []File) ([]File, error) {
	byPath := map[string]File{}
	for _, f := range files {
		p := path.Clean("/" + f.Path)[1:]
		if p == "" {
			return nil, fmt.Errorf("file %q: the root is not an entry", f.Path)
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("file %q is listed twice", p)
		}
		if t := f.Mode.Type(); t != 0 && t != fs.ModeDir && t != fs.ModeSymlink {
			return nil, fmt.Errorf("file %q: only directories, regular files and symlinks go in a layer (mode %v)", p, f.Mode)
		}
		f.Path = p
		byPath[p] = f
	}
	for p := range byPath {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if f, ok := byPath[d]; ok {
				if !f.Mode.IsDir() {
					return nil, fmt.Errorf("file %q: its parent %q is not a directory", p, d)
				}
				continue
			}
			byPath[d] = Dir(d, 0o755)
		}
	}
	out := make([]File, 0, len(byPath))
	for _, f := range byPath {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// DirFiles reads the tree under root (an extracted root filesystem) as
// files under prefix ("" for the image's root): directories, regular
// files with their permissions, and symlinks as they are. A hard link
// becomes a copy; any other kind of file is an error naming it.
func DirFiles(root, prefix string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		name := path.Join(prefix, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		switch {
		case mode.IsDir():
			files = append(files, File{Path: name, Mode: fs.ModeDir | mode.Perm() | mode&(fs.ModeSetgid|fs.ModeSticky)})
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			files = append(files, Symlink(name, target))
		case mode.IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files = append(files, File{Path: name, Mode: mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), Data: data})
		default:
			return fmt.Errorf("%s: a %v cannot go in an image layer", p, mode.Type())
		}
		return nil
	})
	return files, err
}
