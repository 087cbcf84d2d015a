package prefectimport

import (
	"bytes"
	"encoding/json"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// Marshal writes a project as flows.yaml: keys in the order of the project
// types (the order the README documents), maps' keys sorted, a header
// saying where it came from. The same project gives the same bytes.
func Marshal(p *project.Project, header string) ([]byte, error) {
	js, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	plain(root)
	// Reconciler is a struct field: json's omitempty keeps an empty one.
	for i := 0; i+1 < len(root.Content); i += 2 {
		if v := root.Content[i+1]; root.Content[i].Value == "reconciler" && v.Kind == yamlv3.MappingNode && len(v.Content) == 0 {
			root.Content = append(root.Content[:i], root.Content[i+2:]...)
			break
		}
	}
	doc.HeadComment = header
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// plain drops JSON's flow style and quotes, so the encoder writes block
// YAML and quotes only what needs it.
func plain(n *yamlv3.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plain(c)
	}
}
