package render

import (
	"bytes"
	"encoding/json"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-flows/kubectl-flows/internal/yamlcodec"
)

// unstructuredAll is objects as written (see unstructuredOf).
func unstructuredAll(objs ...any) ([]map[string]any, error) {
	written := make([]map[string]any, len(objs))
	for i, obj := range objs {
		u, err := unstructuredOf(obj)
		if err != nil {
			return nil, err
		}
		written[i] = u
	}
	return written, nil
}

// marshalDocs writes objects (unstructuredAll's) as one YAML stream behind
// the header.
func marshalDocs(written []map[string]any) ([]byte, error) {
	// Each document is encoded first and the file allocated once at its
	// size: a deployment's file is one document of several kilobytes,
	// which a growing buffer would copy twice over.
	docs := make([][]byte, len(written))
	n := len(Header)
	for i, u := range written {
		b, err := yamlcodec.Marshal(u)
		if err != nil {
			return nil, err
		}
		docs[i] = b
		n += len(b) + len("---\n")
	}
	buf := make([]byte, 0, n)
	buf = append(buf, Header...)
	for i, b := range docs {
		if i > 0 {
			buf = append(buf, "---\n"...)
		}
		buf = append(buf, b...)
	}
	return buf, nil
}

// encodeFile is the bytes and the objects of a file written object by
// object; without the bytes (nil) when only the objects are wanted.
func encodeFile(objectsOnly bool, objs ...any) ([]byte, []map[string]any, error) {
	written, err := unstructuredAll(objs...)
	if err != nil || objectsOnly {
		return nil, written, err
	}
	b, err := marshalDocs(written)
	return b, written, err
}

// marshalObject writes one object as YAML, without server-filled fields.
func marshalObject(obj any) ([]byte, error) {
	u, err := unstructuredOf(obj)
	if err != nil {
		return nil, err
	}
	return yamlcodec.Marshal(u)
}

// unstructuredOf is a typed object as written: through unstructured, so
// that fields Kubernetes fills on the server (creationTimestamp, an empty
// status) never show in a diff.
func unstructuredOf(obj any) (map[string]any, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	prune(u)
	return u, nil
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
