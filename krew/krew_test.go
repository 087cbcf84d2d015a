package krew

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func renderRepoTemplate(t *testing.T) []byte {
	t.Helper()
	tmpl, err := os.ReadFile("../.krew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := Render(tmpl, "v1.2.3", func(url string) (string, error) {
		return strings.Repeat("ab", 32), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTemplateRendersAValidManifest(t *testing.T) {
	data := renderRepoTemplate(t)
	p, err := Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if err := Validate("plugins/flows.yaml", p); err != nil {
		t.Fatal(err)
	}
	if p.Spec.Version != "v1.2.3" || len(p.Spec.Platforms) != 6 {
		t.Fatalf("version %s, %d platforms", p.Spec.Version, len(p.Spec.Platforms))
	}
	for _, pair := range [][2]string{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"}} {
		pl, err := p.Match(pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		want := "https://github.com/kubectl-flows/kubectl-flows/releases/download/v1.2.3/kubectl-flows_v1.2.3_" + pair[0] + "_" + pair[1]
		if !strings.HasPrefix(pl.URI, want) {
			t.Errorf("%v: uri %s", pair, pl.URI)
		}
	}
}

func TestValidateRules(t *testing.T) {
	base := func() *Plugin {
		p, err := Parse(renderRepoTemplate(t))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		file string
		edit func(*Plugin)
		want string
	}{
		{"name must match file", "kubectl-flows.yaml", func(*Plugin) {}, "must match"},
		{"uppercase sha", "flows.yaml", func(p *Plugin) { p.Spec.Platforms[0].Sha256 = strings.ToUpper(p.Spec.Platforms[0].Sha256) }, "lowercase"},
		{"other selector keys", "flows.yaml", func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["distro"] = "debian" }, `"distro" is not supported`},
		{"version", "flows.yaml", func(p *Plugin) { p.Spec.Version = "1.2.3" }, "semantic version"},
		{"short description", "flows.yaml", func(p *Plugin) { p.Spec.ShortDescription = "a\nb" }, "one non-empty line"},
		{"overlapping selectors", "flows.yaml", func(p *Plugin) { p.Spec.Platforms[1].Selector = p.Spec.Platforms[0].Selector }, "both select linux/amd64"},
		{"unsupported platform", "flows.yaml", func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["os"] = "plan9" }, "matches none"},
	} {
		p := base()
		tc.edit(p)
		if err := Validate(tc.file, p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestRenderReportsMissingArchive(t *testing.T) {
	tmpl, err := os.ReadFile("../.krew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Render(tmpl, "v1.2.3", DirSHA(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), filepath.Join("kubectl-flows_v1.2.3_linux_amd64.tar.gz")) {
		t.Fatalf("%v", err)
	}
}
