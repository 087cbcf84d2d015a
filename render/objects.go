package render

import (
	"bytes"
	"encoding/json"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-flows/kubectl-flows/internal/yamlcodec"
)

// marshalDocs writes objects as one YAML stream behind the header. Typed
// objects go through unstructured so that fields Kubernetes fills on the
// server (creationTimestamp, an empty status) never show in a diff.
func marshalDocs(objs ...any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(Header)
	for i, obj := range objs {
		b, err := marshalObject(obj)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// marshalObject writes one object as YAML, without server-filled fields.
func marshalObject(obj any) ([]byte, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	prune(u)
	return yamlcodec.Marshal(u)
}

// prune drops what the API server fills in, recursively: creationTimestamp
// is null in every typed object, and empty status or resources maps are
// noise in review.
func prune(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			if k == "creationTimestamp" {
				delete(m, k)
			}
		case map[string]any:
			prune(t)
			if len(t) == 0 && (k == "status" || k == "resources" || k == "metadata") {
				delete(m, k)
			}
		case []any:
			for _, e := range t {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		}
	}
}

// indentJSON pretty-prints JSON with two spaces, for readable diffs of
// stored templates.
func indentJSON(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return b
	}
	out.WriteByte('\n')
	return out.Bytes()
}
