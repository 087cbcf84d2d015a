package plugin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

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
		RunE: runE(o),
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
func (o *ReviewOptions) Complete(args []string) error {
	o.Dirs = args
	o.now = time.Now()
	if o.Now != "" {
		t, err := time.Parse(time.RFC3339, o.Now)
		if err != nil {
			return exitWith(2, fmt.Errorf("--now %q: want an RFC 3339 time such as 2026-12-01T09:00:00Z", o.Now))
		}
		o.now = t
	}
	if len(o.Dirs) == 0 && len(o.Overlays) == 0 {
		return exitWith(2, o.projectFlags.complete())
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
		return exitWith(2, fmt.Errorf("--output %q: want one of %s", o.Output, strings.Join(review.Formats, ", ")))
	}
	if len(o.Dirs) == 2 && (o.Base != "" || len(o.Overlays) > 0) {
		return exitWith(2, errors.New("two directories are compared as they are: --base and --overlay do not apply"))
	}
	return exitWith(2, o.projectFlags.validate())
}

// Run reviews and prints; the error carries the exit status.
func (o *ReviewOptions) Run(context.Context) error {
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
		return review.Dirs(o.Dirs[0], o.Dirs[1], opts)
	}
	start := "."
	if len(o.Overlays) == 0 {
		start = filepath.Dir(o.File)
	}
	base, err := review.OpenBase(start, o.Base, version.String())
	if err != nil {
		return nil, err
	}
	defer base.Close()
	if len(o.Overlays) > 0 {
		return base.Overlays(o.Overlays, opts)
	}
	return base.Projects(o.File, o.loadAll, o.loadOptions(), opts)
}
