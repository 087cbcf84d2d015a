// Package scaffold holds the starter project `kubectl flows init` writes:
// the hello flow with two deployments, a base job template, and the image
// that runs the flow. examples/hello is this scaffold, kept identical by a
// test.
package scaffold

import (
	"embed"
	"io/fs"
	"sort"

	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

//go:embed files
var files embed.FS

// TemplateFile is the base job template the scaffold's pool names.
const TemplateFile = "base-job-template.json"

// Files returns the scaffold by slash-separated path.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{TemplateFile: jobtemplate.DefaultJSON()}
	sub, err := fs.Sub(files, "files")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		out[p] = b
		return err
	})
	return out, err
}

// Paths returns the scaffold's paths, sorted.
func Paths(m map[string][]byte) []string {
	paths := make([]string, 0, len(m))
	for p := range m {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}
