package review

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// Dirs reviews two directories as they are: rendered trees or overlays.
func Dirs(old, new string, opts Options) (*Review, error) {
	before, err := FromDir(old)
	if err != nil {
		return nil, err
	}
	after, err := FromDir(new)
	if err != nil {
		return nil, err
	}
	return &Review{Base: old, Head: new, Reports: []*Report{Compare(new, before, after, opts)}}, nil
}

// Base is the git ref a working tree is reviewed against, its tree
// exported to a temporary directory (Close removes it).
type Base struct {
	root, ref, sha, tree string
	// Version renders both sides (the same on both, so only the
	// project's change shows).
	Version string
}

// OpenBase exports ref (default: the merge base of HEAD with the default
// branch) of the git repository holding dir.
func OpenBase(dir, ref, version string) (*Base, error) {
	root, err := RepoRoot(dir)
	if err != nil {
		return nil, err
	}
	if ref == "" {
		if ref, err = DefaultBase(root); err != nil {
			return nil, err
		}
	}
	sha, err := ShortSHA(root, ref)
	if err != nil {
		return nil, err
	}
	tree, err := Export(root, ref)
	if err != nil {
		return nil, err
	}
	return &Base{root: root, ref: ref, sha: sha, tree: tree, Version: version}, nil
}

// Close removes the exported tree.
func (b *Base) Close() error { return os.RemoveAll(b.tree) }

func (b *Base) review() *Review {
	rv := &Review{Base: b.ref, Head: "working tree"}
	if b.ref != b.sha && !strings.HasPrefix(b.ref, b.sha) {
		rv.Base = fmt.Sprintf("%s (%s)", b.ref, b.sha)
	}
	return rv
}

// Overlays reviews kustomize overlays of the working tree, as committed,
// against the same directories at the base; one the base lacks is new.
func (b *Base) Overlays(dirs []string, opts Options) (*Review, error) {
	rv := b.review()
	for _, dir := range dirs {
		rel, err := b.inRepo(dir)
		if err != nil {
			return nil, err
		}
		before, err := FromDir(filepath.Join(b.tree, rel))
		if errors.Is(err, fs.ErrNotExist) {
			before, err = Objects{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s at %s: %w", rel, b.ref, err)
		}
		after, err := FromDir(dir)
		if err != nil {
			return nil, err
		}
		rv.Reports = append(rv.Reports, Compare(filepath.ToSlash(rel), before, after, opts))
	}
	return rv, nil
}

// Projects reviews the renders of a project file's projects, loaded by
// loadHead (one per environment), against the same file at the base,
// loaded with load and the base's commit as its gitSha. The two sides are
// independent: the base project loads while the working tree's does, and
// renders while the working tree's does.
func (b *Base) Projects(file string, loadHead func() ([]*project.Loaded, error), load project.LoadOptions, opts Options) (*Review, error) {
	rel, err := b.inRepo(file)
	if err != nil {
		return nil, err
	}
	// A map of its own: loadHead may read the caller's meanwhile.
	extVars := maps.Clone(load.ExtVars)
	if extVars == nil {
		extVars = map[string]string{}
	}
	extVars[project.ExtVarGitSHA] = b.sha
	load.ExtVars = extVars
	baseFile := filepath.Join(b.tree, rel)
	var (
		baseProject *project.Loaded
		baseLoadErr error
		loaded      = make(chan struct{})
	)
	go func() {
		defer close(loaded)
		baseProject, baseLoadErr = loadBase(baseFile, load)
	}()
	all, err := loadHead()
	<-loaded
	if err != nil {
		return nil, err
	}
	rv := b.review()
	for _, l := range all {
		var (
			before  Objects
			baseErr = baseLoadErr
			done    = make(chan struct{})
		)
		go func() {
			defer close(done)
			if baseErr == nil {
				before, baseErr = b.baseObjects(baseProject, baseFile, l.Environment, load)
			}
		}()
		after, err := b.render(l)
		<-done
		if err != nil {
			return nil, err
		}
		if baseErr != nil {
			return nil, fmt.Errorf("the project at %s: %w", b.ref, baseErr)
		}
		target := filepath.ToSlash(rel)
		if l.Environment != "" {
			target += ", environment " + l.Environment
		}
		rv.Reports = append(rv.Reports, Compare(target, before, after, opts))
	}
	return rv, nil
}

// loadBase loads the project file at the base ref as written, or gives nil
// when the file did not exist there.
func loadBase(file string, load project.LoadOptions) (*project.Loaded, error) {
	if _, err := os.Stat(file); err != nil {
		return nil, nil
	}
	load.Environment = ""
	return project.Load(file, load)
}

// baseObjects renders the base project (loadBase's) for one environment:
// nothing when the file did not exist, and the project as written when it
// declared no environments yet (a project moving to environments is
// reviewed against what it rendered before). An environment the base did
// not declare is new: every object is added.
func (b *Base) baseObjects(l *project.Loaded, file, env string, load project.LoadOptions) (Objects, error) {
	if l == nil {
		return Objects{}, nil
	}
	if env != "" && len(l.Environments) > 0 {
		if !slices.Contains(l.Environments, env) {
			return Objects{}, nil
		}
		load.Environment = env
		var err error
		if l, err = project.Load(file, load); err != nil {
			return nil, err
		}
	}
	return b.render(l)
}

// render renders a project as render does, for its objects.
func (b *Base) render(l *project.Loaded) (Objects, error) {
	out, err := render.Render(l, render.Options{Version: b.Version, ObjectsOnly: true})
	if err != nil {
		return nil, err
	}
	return FromOutput(out)
}

// inRepo gives path relative to the repository root, which must hold it.
func (b *Base) inRepo(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	root := b.root
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is outside the git repository %s", path, b.root)
	}
	return rel, nil
}
