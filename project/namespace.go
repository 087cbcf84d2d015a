package project

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// ProjectFileNames are the files a command looks for in the current
// directory when it is not given one, in order.
var ProjectFileNames = []string{"flows.yaml", "flows.yml", "flows.jsonnet"}

// FindProjectFile returns the first of ProjectFileNames present in dir, or
// "".
func FindProjectFile(dir string) string {
	for _, name := range ProjectFileNames {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// FileNamespace reads only the namespace of a project file, without
// validating the rest, so a command that talks to the cluster can find the
// project's namespace from the project in the current directory. Jsonnet is
// evaluated (gitSha defaults to a placeholder outside git: the namespace
// rarely depends on it); YAML is parsed, and a namespace holding a
// {{ placeholder }} is filled from vars.
func FileNamespace(path string, vars map[string]string) (string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	all := map[string]string{}
	for k, v := range vars {
		all[k] = v
	}
	if _, ok := all[ExtVarGitSHA]; !ok {
		all[ExtVarGitSHA] = GitSHA(filepath.Dir(path))
	}
	doc := src
	switch filepath.Ext(path) {
	case ".jsonnet", ".libsonnet":
		if doc, err = evalJsonnet(path, src, all); err != nil {
			return "", err
		}
	}
	var head struct {
		Namespace string `json:"namespace"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	ns := varRE.ReplaceAllStringFunc(head.Namespace, func(m string) string {
		return all[varRE.FindStringSubmatch(m)[1]]
	})
	return ns, nil
}
