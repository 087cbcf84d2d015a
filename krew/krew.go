// Package krew makes the krew-index manifest of the `flows` plugin from the
// krew-release-bot template (.krew.yaml) and the release archives, and
// checks it the way krew's validator does. Installing is left to krew
// itself: the end-to-end test (test/e2e/krew_test.go) runs the real
// `kubectl krew install` and krew's own validate-krew-manifest, and checks
// that Validate rejects what that validator rejects.
package krew

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// The manifest format (krew's index.Plugin, v1alpha2).
const (
	APIVersion = "krew.googlecontainertools.github.com/v1alpha2"
	Kind       = "Plugin"
)

// Plugin is a krew plugin manifest.
type Plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec PluginSpec `json:"spec"`
}

// PluginSpec is a manifest's spec.
type PluginSpec struct {
	Version          string     `json:"version"`
	Homepage         string     `json:"homepage,omitempty"`
	ShortDescription string     `json:"shortDescription"`
	Description      string     `json:"description,omitempty"`
	Caveats          string     `json:"caveats,omitempty"`
	Platforms        []Platform `json:"platforms"`
}

// Platform is one os/arch's archive.
type Platform struct {
	Selector *metav1.LabelSelector `json:"selector"`
	URI      string                `json:"uri"`
	Sha256   string                `json:"sha256"`
	Bin      string                `json:"bin"`
	Files    []FileOperation       `json:"files,omitempty"`
}

// FileOperation copies From (a glob in the archive) to To (a directory of
// the installation).
type FileOperation struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Render executes a krew-release-bot template for tag. Like the bot, it
// offers addURIAndSha URL TAG, which expands {{ .TagName }} in URL and
// writes "uri: URL" and "sha256: SUM" (indented for a platform entry), and
// indent N TEXT. sha gives the sha256 of a URL's asset.
func Render(tmpl []byte, tag string, sha func(url string) (string, error)) ([]byte, error) {
	values := map[string]string{"TagName": tag, "Version": strings.TrimPrefix(tag, "v")}
	var shaErr error
	t, err := template.New(".krew.yaml").Funcs(template.FuncMap{
		"addURIAndSha": func(url, tag string) string {
			u, err := template.New("url").Parse(url)
			if err != nil {
				shaErr = errors.Join(shaErr, err)
				return ""
			}
			var b strings.Builder
			if err := u.Execute(&b, map[string]string{"TagName": tag, "Version": strings.TrimPrefix(tag, "v")}); err != nil {
				shaErr = errors.Join(shaErr, err)
				return ""
			}
			sum, err := sha(b.String())
			if err != nil {
				shaErr = errors.Join(shaErr, err)
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", b.String(), sum)
		},
		"indent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return strings.TrimSpace(pad + strings.ReplaceAll(s, "\n", "\n"+pad))
		},
	}).Parse(string(tmpl))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, values); err != nil {
		return nil, err
	}
	if shaErr != nil {
		return nil, shaErr
	}
	return out.Bytes(), nil
}

// DirSHA returns a sha function that reads each URL's asset, by its base
// name, from dir (where `make dist` put the archives).
func DirSHA(dir string) func(string) (string, error) {
	return func(url string) (string, error) {
		return FileSHA256(filepath.Join(dir, path.Base(url)))
	}
}

// FileSHA256 is a file's lowercase hex sha256.
func FileSHA256(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Parse reads a manifest strictly.
func Parse(data []byte) (*Plugin, error) {
	p := &Plugin{}
	if err := yaml.UnmarshalStrict(data, p); err != nil {
		return nil, err
	}
	return p, nil
}

var (
	safeName  = regexp.MustCompile(`^[\w-]+$`)
	sha256Hex = regexp.MustCompile(`^[a-f0-9]{64}$`)
	semver    = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

// Validate applies the rules krew checks before it installs a manifest and
// krew-index checks on a pull request: name is the manifest file's name
// without .yaml, a one-line short description, a v-prefixed semantic
// version, and per platform a uri, a lowercase sha256, a bin, well-formed
// files, and a selector on os and arch only.
func Validate(file string, p *Plugin) error {
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	switch {
	case p.APIVersion != APIVersion:
		return fmt.Errorf("apiVersion is %q, want %q", p.APIVersion, APIVersion)
	case p.Kind != Kind:
		return fmt.Errorf("kind is %q, want %q", p.Kind, Kind)
	case !safeName.MatchString(name):
		return fmt.Errorf("plugin name %q is not allowed", name)
	case p.Metadata.Name != name:
		return fmt.Errorf("metadata.name is %q but the manifest file is %s: they must match", p.Metadata.Name, filepath.Base(file))
	case p.Spec.ShortDescription == "" || strings.ContainsAny(p.Spec.ShortDescription, "\r\n"):
		return errors.New("spec.shortDescription must be one non-empty line")
	case !semver.MatchString(p.Spec.Version):
		return fmt.Errorf("spec.version %q is not a semantic version with a v prefix", p.Spec.Version)
	case len(p.Spec.Platforms) == 0:
		return errors.New("spec.platforms is empty")
	}
	for i, pl := range p.Spec.Platforms {
		at := fmt.Sprintf("spec.platforms[%d]", i)
		switch {
		case pl.URI == "":
			return fmt.Errorf("%s.uri is empty", at)
		case !sha256Hex.MatchString(pl.Sha256):
			return fmt.Errorf("%s.sha256 %q is not 64 lowercase hex digits", at, pl.Sha256)
		case pl.Bin == "":
			return fmt.Errorf("%s.bin is empty", at)
		case pl.Files != nil && len(pl.Files) == 0:
			return fmt.Errorf("%s.files is empty", at)
		case pl.Selector == nil || (len(pl.Selector.MatchLabels) == 0 && len(pl.Selector.MatchExpressions) == 0):
			return fmt.Errorf("%s.selector is empty", at)
		}
		for _, f := range pl.Files {
			if f.From == "" || f.To == "" {
				return fmt.Errorf("%s.files: from and to must be set", at)
			}
		}
		for k := range pl.Selector.MatchLabels {
			if k != "os" && k != "arch" {
				return fmt.Errorf("%s.selector: key %q is not supported (only os and arch)", at, k)
			}
		}
		for _, e := range pl.Selector.MatchExpressions {
			if e.Key != "os" && e.Key != "arch" {
				return fmt.Errorf("%s.selector: key %q is not supported (only os and arch)", at, e.Key)
			}
		}
	}
	// As validate-krew-manifest: every selector picks at least one platform
	// krew runs on, and no platform is picked twice.
	picked := map[[2]string]int{}
	for i, pl := range p.Spec.Platforms {
		sel, err := metav1.LabelSelectorAsSelector(pl.Selector)
		if err != nil {
			return fmt.Errorf("spec.platforms[%d].selector: %w", i, err)
		}
		n := 0
		for _, pf := range supportedPlatforms {
			if !sel.Matches(labels.Set{"os": pf[0], "arch": pf[1]}) {
				continue
			}
			n++
			if j, ok := picked[pf]; ok {
				return fmt.Errorf("spec.platforms[%d] and [%d] both select %s/%s", j, i, pf[0], pf[1])
			}
			picked[pf] = i
		}
		if n == 0 {
			return fmt.Errorf("spec.platforms[%d].selector matches none of the platforms krew supports", i)
		}
	}
	return nil
}

// supportedPlatforms are the os/arch pairs validate-krew-manifest (krew
// v0.4.3) checks selectors against.
var supportedPlatforms = [][2]string{
	{"windows", "386"}, {"windows", "amd64"}, {"windows", "arm64"},
	{"linux", "386"}, {"linux", "amd64"}, {"linux", "arm"}, {"linux", "arm64"},
	{"darwin", "386"}, {"darwin", "amd64"}, {"darwin", "arm64"},
}

// Match returns the platform for goos/goarch.
func (p *Plugin) Match(goos, goarch string) (*Platform, error) {
	for i := range p.Spec.Platforms {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Platforms[i].Selector)
		if err != nil {
			return nil, err
		}
		if sel.Matches(labels.Set{"os": goos, "arch": goarch}) {
			return &p.Spec.Platforms[i], nil
		}
	}
	return nil, fmt.Errorf("no platform of plugin %s matches %s/%s", p.Metadata.Name, goos, goarch)
}
