package plugin

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// projectFlags are the flags of every command that reads a project file.
type projectFlags struct {
	File    string
	ExtStrs []string
	// Env selects one of the project's environments.
	Env string
}

func (f *projectFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&f.File, "file", "f", "", "project file (default: flows.yaml, else flows.jsonnet, in the current directory)")
	fs.StringArrayVar(&f.ExtStrs, "ext-str", nil, "value for std.extVar(NAME) in Jsonnet, or {{ NAME }} in YAML, as NAME=VALUE (repeatable)")
	fs.StringVar(&f.Env, "env", "", "one of the project's environments (its environments: section)")
}

// complete finds the default project file.
func (f *projectFlags) complete() error {
	if f.File != "" {
		return nil
	}
	for _, name := range []string{"flows.yaml", "flows.yml", "flows.jsonnet"} {
		if _, err := os.Stat(name); err == nil {
			f.File = name
			return nil
		}
	}
	return fmt.Errorf("no flows.yaml or flows.jsonnet in the current directory; pass -f FILE, or create one with `kubectl flows init`")
}

func (f *projectFlags) validate() error {
	for _, kv := range f.ExtStrs {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("--ext-str %q: want NAME=VALUE", kv)
		}
	}
	return nil
}

func (f *projectFlags) loadOptions() project.LoadOptions {
	vars := map[string]string{}
	for _, kv := range f.ExtStrs {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return project.LoadOptions{ExtVars: vars, Environment: f.Env}
}

// load loads the project, or the environment --env names. A project with
// environments needs --env: the project as written is what each
// environment changes, not what any cluster runs.
func (f *projectFlags) load() (*project.Loaded, error) {
	l, err := project.Load(f.File, f.loadOptions())
	if err != nil {
		return nil, err
	}
	if f.Env == "" && len(l.Environments) > 0 {
		return nil, fmt.Errorf("%s declares environments (%s): pass --env NAME", f.File, strings.Join(l.Environments, ", "))
	}
	return l, nil
}

// loadAll loads what render writes: the environment --env names, else
// every environment, else the project.
func (f *projectFlags) loadAll() ([]*project.Loaded, error) {
	if f.Env != "" {
		l, err := project.Load(f.File, f.loadOptions())
		if err != nil {
			return nil, err
		}
		return []*project.Loaded{l}, nil
	}
	return project.LoadEnvironments(f.File, f.loadOptions())
}

// collectLess makes the garbage collector run less often for the rest of
// a command that renders whole projects (render, review): they allocate
// several times their live heap in short-lived garbage and exit within a
// second or two. The heap may grow to three times what is live instead of
// twice; a larger heap costs more in fresh pages than it saves in
// collections. GOGC, when set, wins.
func collectLess() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
}
