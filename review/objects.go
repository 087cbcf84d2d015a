package review

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

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubectl-flows/kubectl-flows/render"
)

// Objects is one side of a review: the Kubernetes objects a render, a
// rendered directory or a kustomize overlay produces, by Key.
type Objects map[string]*unstructured.Unstructured

// Key names an object the way a reviewer reads it: Kind namespace/name.
func Key(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + " " + ns + "/" + u.GetName()
	}
	return u.GetKind() + " " + u.GetName()
}

// FromOutput reads the objects of a render held in memory: as render
// wrote them where it keeps them, rather than parsing its own YAML back.
func FromOutput(out *render.Output) (Objects, error) {
	objs := Objects{}
	for _, p := range out.Paths() {
		written, ok := out.Objects(p)
		if !ok {
			if err := objs.add(p, out.Files[p]); err != nil {
				return nil, err
			}
			continue
		}
		for _, m := range written {
			if err := objs.addObject(p, m); err != nil {
				return nil, err
			}
		}
	}
	return objs, nil
}

// FromDir reads a rendered directory or a kustomize overlay: a directory
// with a kustomization.yaml is built as `kubectl kustomize` builds it (so
// an overlay is reviewed by what it applies), any other directory is read
// file by file.
func FromDir(dir string) (Objects, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	for _, k := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := os.Stat(filepath.Join(dir, k)); err == nil {
			b, err := render.Kustomize(dir)
			if err != nil {
				return nil, err
			}
			objs := Objects{}
			return objs, objs.add(dir, b)
		}
	}
	objs := Objects{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return objs.add(p, b)
	})
	return objs, err
}

// FromYAML reads the objects of one YAML stream, such as the output of
// `kubectl kustomize`; name names it in errors.
func FromYAML(name string, data []byte) (Objects, error) {
	objs := Objects{}
	return objs, objs.add(name, data)
}

// add decodes a YAML stream.
func (o Objects) add(file string, data []byte) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: %w", file, err)
		}
		if err := o.addObject(file, m); err != nil {
			return err
		}
	}
}

// addObject adds one decoded object; kustomize's own files are not
// objects.
func (o Objects) addObject(file string, m map[string]any) error {
	if len(m) == 0 {
		return nil
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetObjectKind().GroupVersionKind().Group == "kustomize.config.k8s.io" {
		return nil
	}
	if u.GetKind() == "" || u.GetName() == "" {
		return fmt.Errorf("%s: an object without kind or metadata.name", file)
	}
	k := Key(u)
	if _, dup := o[k]; dup {
		return fmt.Errorf("%s: %s is given twice", file, k)
	}
	o[k] = u
	return nil
}

// Keys are the objects' keys, sorted.
func (o Objects) Keys() []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
