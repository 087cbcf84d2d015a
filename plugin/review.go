package plugin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/review"
	"github.com/kubectl-flows/kubectl-flows/version"
)

var reviewLong = templates.LongDesc(`
	Review says what a change does to flow runs, for a pull request: it
	renders the project at a base git ref and in the working tree (with the
	same loader and renderer as render) and lists the differences by risk:
	security first (service accounts, image registries, privileged or host
	fields, RBAC, what run requests may override, pod-security labels), then
	capacity (limits, priorities, pauses), deployments (added, removed,
	renamed, image tags, parameters and their schema, job variables with the
	resolved Job preview), schedules with their next three fire times, and
	what leaves waiting runs unable to be admitted. The markdown form folds
	the exact YAML hunks below, for a PR comment; json is for bots.

	The base is the merge base of HEAD with the default branch unless
	--base names one. A project with environments is reviewed environment
	by environment (--env names one), each against the same environment at
	the base. With --overlay DIR (repeatable) the kustomize build of
	each overlay is reviewed instead, as committed: what Flux applies. With
	two directories it compares them (rendered directories or overlays).

	Exit status, like render --check: 0 no change, 1 changes, 2 an error
	(including a change that breaks something, such as parameter defaults
	the new schema rejects, or config data an overlay patched, which the
	reconciler would refuse as changed since it was rendered).`)

var reviewExample = templates.Examples(`
	# What does my branch change, against the merge base with main?
	kubectl flows review

	# As a PR comment, against the PR's base branch
	kubectl flows review --base origin/main -o markdown

	# A project with environments: each environment's render, or one
	kubectl flows review --env production

	# What promoting staging's render to production changes
	kubectl flows review clusters/staging clusters/production

	# Kustomize overlays over a render, as committed
	kubectl flows review --overlay overlays/staging-extras

	# Two rendered directories
	kubectl flows review old/deploy deploy`)

// ReviewOptions is `kubectl flows review`.
type ReviewOptions struct {
	projectFlags
	Base     string
	Output   string
	Overlays []string
	// Now is when schedules' next fire times are counted from (RFC 3339;
	// default the current time). Hidden: for reproducible output in tests.
	Now  string
	Dirs []string

	now time.Time
	genericiooptions.IOStreams
}

// NewCmdReview is `kubectl flows review`.
func NewCmdReview(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ReviewOptions{IOStreams: streams, Output: "text"}
	cmd := &cobra.Command{
		Use:     "review [--base REF] [-o text|markdown|json] [OLD_DIR NEW_DIR]",
		Short:   "Say what a change to the project does, grouped by risk, for a pull request",
		Long:    reviewLong,
		Example: reviewExample,
		Args: cobra.MatchAll(cobra.MaximumNArgs(2), func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return errors.New("give two directories (old and new), or none to review the project against --base")
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dirs = args
			if err := o.Complete(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if err := o.Validate(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return o.Run()
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.Base, "base", "", "git ref to compare with (default: the merge base of HEAD with the default branch)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: "+strings.Join(review.Formats, ", "))
	cmd.Flags().StringArrayVar(&o.Overlays, "overlay", nil, "kustomize overlay directory to review instead of the project's render (repeatable)")
	cmd.Flags().StringVar(&o.Now, "now", "", "count schedules' next fire times from this RFC 3339 time")
	_ = cmd.Flags().MarkHidden("now")
	return cmd
}

// Complete finds the project file (unless directories or overlays are
// reviewed) and the clock.
func (o *ReviewOptions) Complete() error {
	o.now = time.Now()
	if o.Now != "" {
		t, err := time.Parse(time.RFC3339, o.Now)
		if err != nil {
			return fmt.Errorf("--now %q: want an RFC 3339 time such as 2026-12-01T09:00:00Z", o.Now)
		}
		o.now = t
	}
	if len(o.Dirs) == 0 && len(o.Overlays) == 0 {
		return o.projectFlags.complete()
	}
	return nil
}

// Validate checks the flags.
func (o *ReviewOptions) Validate() error {
	ok := false
	for _, f := range review.Formats {
		ok = ok || f == o.Output
	}
	if !ok {
		return fmt.Errorf("--output %q: want one of %s", o.Output, strings.Join(review.Formats, ", "))
	}
	if len(o.Dirs) == 2 && (o.Base != "" || len(o.Overlays) > 0) {
		return errors.New("two directories are compared as they are: --base and --overlay do not apply")
	}
	return o.projectFlags.validate()
}

// Run reviews and prints; the error carries the exit status.
func (o *ReviewOptions) Run() error {
	collectLess()
	rv, err := o.review()
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if err := rv.Write(o.Out, o.Output); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	switch n := rv.Changes(); {
	case rv.Errors() > 0:
		return &ExitError{Code: 2, Err: fmt.Errorf("the change breaks %d thing(s): see the errors above", rv.Errors())}
	case n > 0:
		return &ExitError{Code: 1, Err: fmt.Errorf("%d change(s) to review", n)}
	}
	fmt.Fprintln(o.ErrOut, "no changes")
	return nil
}

func (o *ReviewOptions) review() (*review.Review, error) {
	opts := review.Options{Now: o.now}
	if len(o.Dirs) == 2 {
		before, err := review.FromDir(o.Dirs[0])
		if err != nil {
			return nil, err
		}
		after, err := review.FromDir(o.Dirs[1])
		if err != nil {
			return nil, err
		}
		return &review.Review{Base: o.Dirs[0], Head: o.Dirs[1], Reports: []*review.Report{review.Compare(o.Dirs[1], before, after, opts)}}, nil
	}
	start := "."
	if len(o.Overlays) == 0 {
		start = filepath.Dir(o.File)
	}
	root, err := review.RepoRoot(start)
	if err != nil {
		return nil, err
	}
	base := o.Base
	if base == "" {
		if base, err = review.DefaultBase(root); err != nil {
			return nil, err
		}
	}
	sha, err := review.ShortSHA(root, base)
	if err != nil {
		return nil, err
	}
	tree, err := review.Export(root, base)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tree)
	rv := &review.Review{Base: base, Head: "working tree"}
	if base != sha && !strings.HasPrefix(base, sha) {
		rv.Base = fmt.Sprintf("%s (%s)", base, sha)
	}
	if len(o.Overlays) > 0 {
		for _, dir := range o.Overlays {
			rel, err := inRepo(root, dir)
			if err != nil {
				return nil, err
			}
			before, err := review.FromDir(filepath.Join(tree, rel))
			if errors.Is(err, fs.ErrNotExist) {
				before, err = review.Objects{}, nil
			}
			if err != nil {
				return nil, fmt.Errorf("%s at %s: %w", rel, base, err)
			}
			after, err := review.FromDir(dir)
			if err != nil {
				return nil, err
			}
			rv.Reports = append(rv.Reports, review.Compare(filepath.ToSlash(rel), before, after, opts))
		}
		return rv, nil
	}

	if err := o.reviewProject(rv, root, tree, base, sha, opts); err != nil {
		return nil, err
	}
	return rv, nil
}

// reviewProject reviews the project file (each environment) against the
// same file in tree, base's tree whose short SHA is sha, into rv.
func (o *ReviewOptions) reviewProject(rv *review.Review, root, tree, base, sha string, opts review.Options) error {
	rel, err := inRepo(root, o.File)
	if err != nil {
		return err
	}
	// The two sides are independent: the base project loads while the
	// working tree's does, and renders while the working tree's does.
	baseOpts := o.loadOptions()
	baseOpts.ExtVars[project.ExtVarGitSHA] = sha
	baseFile := filepath.Join(tree, rel)
	var (
		baseProject *project.Loaded
		baseLoadErr error
		loaded      = make(chan struct{})
	)
	go func() {
		defer close(loaded)
		baseProject, baseLoadErr = loadBase(baseFile, baseOpts)
	}()
	all, err := o.loadAll()
	<-loaded
	if err != nil {
		return err
	}
	for _, l := range all {
		var (
			before  review.Objects
			baseErr = baseLoadErr
			done    = make(chan struct{})
		)
		go func() {
			defer close(done)
			if baseErr == nil {
				before, baseErr = baseObjects(baseProject, baseFile, l.Environment, baseOpts)
			}
		}()
		after, err := renderObjects(l)
		<-done
		if err != nil {
			return err
		}
		if baseErr != nil {
			return fmt.Errorf("the project at %s: %w", base, baseErr)
		}
		target := filepath.ToSlash(rel)
		if l.Environment != "" {
			target += ", environment " + l.Environment
		}
		rv.Reports = append(rv.Reports, review.Compare(target, before, after, opts))
	}
	return nil
}

// loadBase loads the project file at the base ref as written, or gives nil
// when the file did not exist there.
func loadBase(file string, opts project.LoadOptions) (*project.Loaded, error) {
	if _, err := os.Stat(file); err != nil {
		return nil, nil
	}
	opts.Environment = ""
	return project.Load(file, opts)
}

// baseObjects renders the base project (loadBase's) for one environment:
// nothing when the file did not exist, and the project as written when it
// declared no environments yet (a project moving to environments is
// reviewed against what it rendered before). An environment the base did
// not declare is new: every object is added.
func baseObjects(l *project.Loaded, file, env string, opts project.LoadOptions) (review.Objects, error) {
	if l == nil {
		return review.Objects{}, nil
	}
	if env != "" && len(l.Environments) > 0 {
		if !slices.Contains(l.Environments, env) {
			return review.Objects{}, nil
		}
		opts.Environment = env
		var err error
		if l, err = project.Load(file, opts); err != nil {
			return nil, err
		}
	}
	return renderObjects(l)
}

// renderObjects renders a project as render does (same plugin version on
// both sides, so only the project's change shows), for its objects.
func renderObjects(l *project.Loaded) (review.Objects, error) {
	out, err := render.Render(l, render.Options{Version: version.String(), ObjectsOnly: true})
	if err != nil {
		return nil, err
	}
	return review.FromOutput(out)
}

// inRepo gives path relative to the repository root, which must hold it.
func inRepo(root, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is outside the git repository %s", path, root)
	}
	return rel, nil
}
