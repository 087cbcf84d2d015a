// Package flux is an example repository layout for two environments with
// Flux: one project file whose environments are rendered each on its own
// into clusters/<env>. Its tests render it with the real command (the
// committed tree is the golden file), build each environment with
// `kubectl kustomize` as Flux's kustomize-controller does, and review
// production against staging.
package flux

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-flows/kubectl-flows/internal/golden"
	"github.com/kubectl-flows/kubectl-flows/plugin"
	"github.com/kubectl-flows/kubectl-flows/review"
	"github.com/kubectl-flows/kubectl-flows/version"
)

var envs = []string{"staging", "production"}

// renderArgs is the command the README gives, with the git SHA pinned so
// the committed tree does not change with every commit, and the Flux path
// as it is in a repository of its own (here the example sits deeper).
var renderArgs = []string{"--ext-str", "gitSha=0123abc", "--flux-source", "https://github.com/acme/shop-flows", "--flux-path", "clusters"}

// TestRender runs `kubectl flows render --check` over the committed
// clusters/ (with -update, renders into it): one directory per
// environment, each with the Flux objects that apply it.
func TestRender(t *testing.T) {
	defer func(v string) { version.Version = v }(version.Version)
	version.Version = "v0.1.0" // the reconciler image's tag, as in the other examples
	args := renderArgs
	if !golden.Update() {
		args = append(args, "--check")
	}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := plugin.NewCmdRender(streams)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err != nil {
		t.Fatalf("render %v: exit %d: %v\n%s%s", args, plugin.ExitCode(err), err, out, errOut)
	}
	for _, env := range envs {
		want := "clusters/" + env + " is up to date"
		if golden.Update() {
			want = "into clusters/" + env + ":"
		}
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("render did not say %q:\n%s", want, errOut)
		}
	}
}

// TestKustomizeBuild builds clusters/<env> with kubectl's own kustomize,
// as Flux's kustomize-controller builds it, and checks it against
// testdata/<env>.yaml; review's reading of the directory (kustomize's Go
// API) must hold the same objects, and its config must be as signed: the
// reconciler takes it.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is not on PATH: %v", err)
	}
	digests := map[string]string{}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			dir := filepath.Join("clusters", env)
			out, err := exec.Command(kubectl, "kustomize", dir).Output()
			if err != nil {
				t.Fatalf("kubectl kustomize %s: %v", dir, err)
			}
			golden.Check(t, filepath.Join("testdata", env+".yaml"), out)
			byKubectl, err := review.FromYAML("kubectl kustomize "+dir, out)
			if err != nil {
				t.Fatal(err)
			}
			byReview, err := review.FromDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if same := review.Compare(dir, byKubectl, byReview, review.Options{}); len(same.Hunks) != 0 {
				t.Errorf("review reads %s differently from kubectl kustomize: %+v", dir, same.Hunks)
			}
			if added := review.Compare(dir, review.Objects{}, byKubectl, review.Options{}); added.Errors() != 0 {
				t.Errorf("the reconciler would refuse %s's config: %+v", dir, added.Changes)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if d, ok := strings.CutPrefix(strings.TrimSpace(line), "- --config-digest="); ok {
					digests[env] = d
				}
			}
		})
	}
	if digests["staging"] == "" || digests["staging"] == digests["production"] {
		t.Errorf("each environment's reconciler follows its own config index: %v", digests)
	}
}

// TestReviewPromotion reviews production's render against staging's (as
// `kubectl flows review clusters/staging clusters/production`): what the
// environments differ in.
func TestReviewPromotion(t *testing.T) {
	staging, err := review.FromDir("clusters/staging")
	if err != nil {
		t.Fatal(err)
	}
	production, err := review.FromDir("clusters/production")
	if err != nil {
		t.Fatal(err)
	}
	r := review.Compare("clusters/production", staging, production, review.Options{Now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)})
	rv := &review.Review{Base: "clusters/staging", Head: "clusters/production", Reports: []*review.Report{r}}
	var b bytes.Buffer
	if err := rv.Write(&b, "text"); err != nil {
		t.Fatal(err)
	}
	if rv.Errors() != 0 {
		t.Errorf("errors between two renders:\n%s", b.String())
	}
	golden.Check(t, filepath.Join("testdata", "staging-to-production.txt"), b.Bytes())
}
