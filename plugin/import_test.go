package plugin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/internal/golden"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// importCases are real-shaped prefect.yaml files under testdata/import/:
// seed (the hello project of the README: two deployments, the image
// tagged with the git SHA, a pool template, queue and tag limits as
// flags), single (one deployment, an image name from the environment,
// an anchored interval, concurrency_limit as a number) and anchors
// (definitions, aliases and merge keys, a per-deployment build, cron,
// interval and rrule schedules, concurrency_limit in both forms, job
// variables the template does not declare, Prefect variables and blocks,
// a limits file) and schedules (Prefect 3 schedules with their own
// parameters, slugs and active: false).
var importCases = []struct {
	name string
	args []string
	// vars are the --ext-str values render needs for what import could not
	// resolve.
	vars map[string]string
}{
	{"seed", []string{"--base-job-template", "base-job-template.json", "--pool-limit", "kubernetes=10", "--queue-limit", "kubernetes/default=5", "--tag-limit", "hello=3"}, nil},
	{"single", nil, map[string]string{"PREFECT_IMAGE_NAME": "ghcr.io/acme/reports"}},
	{"anchors", []string{"--limits", "limits.yaml", "-n", "data"}, map[string]string{"WAREHOUSE_URL": "postgres://warehouse"}},
	{"schedules", nil, nil},
}

// TestImportGolden imports each case, compares flows.yaml and the notes
// with the golden files beside it (go test ./plugin -update rewrites them),
// then renders the result and builds it with `kubectl kustomize`.
func TestImportGolden(t *testing.T) {
	kubectl := findKubectl()
	for _, tc := range importCases {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join("testdata", "import", tc.name)
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"want.flows.yaml", "want.stderr"} {
				os.Remove(filepath.Join(dir, f))
			}
			if tc.name == "seed" {
				// The seed is the hello example as Prefect had it: its flow
				// and the pool's template are the example's own.
				if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "examples", "hello"))); err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(dir, "flows.yaml"))
				os.RemoveAll(filepath.Join(dir, "deploy"))
			}
			t.Setenv("PREFECT_IMAGE_NAME", "")
			os.Unsetenv("PREFECT_IMAGE_NAME")
			wd, _ := os.Getwd()
			out, errOut, code := run(t, dir, append([]string{"import"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
			}
			got, err := os.ReadFile(filepath.Join(dir, "flows.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(wd)
			golden.Check(t, filepath.Join("testdata", "import", tc.name, "want.flows.yaml"), got)
			golden.Check(t, filepath.Join("testdata", "import", tc.name, "want.stderr"), []byte(errOut))

			vars := map[string]string{project.ExtVarGitSHA: "0123abc"}
			for k, v := range tc.vars {
				vars[k] = v
			}
			l, err := project.Load(filepath.Join(dir, "flows.yaml"), project.LoadOptions{ExtVars: vars})
			if err != nil {
				t.Fatalf("the imported flows.yaml does not load:\n%v", err)
			}
			rendered, err := render.Render(l, render.Options{Version: "v0.1.0"})
			if err != nil {
				t.Fatalf("the imported flows.yaml does not render: %v", err)
			}
			deploy := filepath.Join(dir, "deploy")
			if err := rendered.Write(deploy); err != nil {
				t.Fatal(err)
			}
			if kubectl == "" {
				t.Skip("no kubectl on PATH, at /usr/bin/kubectl or in ~/.cache/kubectl-flows/testbin: `kubectl kustomize` of the import not checked")
			}
			if b, err := exec.Command(kubectl, "kustomize", deploy).CombinedOutput(); err != nil {
				t.Fatalf("kubectl kustomize of the rendered import: %v\n%s", err, b)
			} else if !strings.Contains(string(b), "kind: Deployment") || !strings.Contains(string(b), "flows-deployment-") {
				t.Fatalf("kubectl kustomize printed no reconciler or deployments:\n%s", b)
			}
		})
	}
}

func findKubectl() string {
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p
	}
	candidates := []string{"/usr/bin/kubectl"}
	if home, err := os.UserHomeDir(); err == nil {
		m, _ := filepath.Glob(filepath.Join(home, ".cache", "kubectl-flows", "testbin", "*", "kubectl"))
		candidates = append(candidates, m...)
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}

// TestImportErrors: what import refuses, each with what to do.
func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("prefect.yaml", "name: x\ndeployments: []\n")
	write("limits.yaml", "pools: [{name: k, limt: 3}]\n")
	write("exists.yaml", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "-f", "nope.yaml"}, "reading prefect.yaml"},
		{[]string{"import"}, "prefect.yaml: no deployments: to import"},
		{[]string{"import", "-o", "exists.yaml"}, "exists.yaml exists; pass --force"},
		{[]string{"import", "--pool-limit", "k=many"}, `--pool-limit "k=many": want POOL=N`},
		{[]string{"import", "--queue-limit", "default=3"}, `--queue-limit "default=3": want POOL/QUEUE=N`},
		{[]string{"import", "--limits", "limits.yaml"}, `--limits limits.yaml: error unmarshaling JSON: while decoding JSON: json: unknown field "limt"`},
	} {
		_, errOut, code := run(t, dir, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, errOut, tc.want)
		}
	}
}
