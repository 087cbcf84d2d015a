package plugin

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// projectFlags are the flags of every command that reads a project file.
type projectFlags struct {
	File    string
	ExtStrs []string
}

func (f *projectFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&f.File, "file", "f", "", "project file (default: flows.yaml, else flows.jsonnet, in the current directory)")
	fs.StringArrayVar(&f.ExtStrs, "ext-str", nil, "value for std.extVar(NAME) in Jsonnet, or {{ NAME }} in YAML, as NAME=VALUE (repeatable)")
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

func (f *projectFlags) load() (*project.Loaded, error) {
	vars := map[string]string{}
	for _, kv := range f.ExtStrs {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return project.Load(f.File, project.LoadOptions{ExtVars: vars})
}
