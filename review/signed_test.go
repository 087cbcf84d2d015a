package review

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestUnsigned: what may change over a render (the reconciler Deployment,
// namespaces, labels) passes; config data or the index changed after
// render is named, object by object.
func TestUnsigned(t *testing.T) {
	const (
		pool  = "ConfigMap flows/flows-pool-batch"
		index = "ConfigMap flows/flows-config-index"
		recon = "Deployment flows/flows-reconciler"
		ns    = "Namespace flows"
	)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, o Objects)
		want   []string
		says   string
	}{
		{"as rendered", func(*testing.T, Objects) {}, nil, ""},
		{"reconciler replicas, image and namespace labels", func(t *testing.T, o Objects) {
			setField(t, o[recon], int64(1), "spec", "replicas")
			containers, _, _ := unstructured.NestedSlice(o[recon].Object, "spec", "template", "spec", "containers")
			containers[0].(map[string]any)["image"] = "registry.example.com/mirror/flows-reconciler:v0.1.0"
			setField(t, o[recon], containers, "spec", "template", "spec", "containers")
			setField(t, o[ns], "platform", "metadata", "labels", "team")
		}, nil, ""},
		{"a label on a config ConfigMap", func(t *testing.T, o Objects) {
			setField(t, o[pool], "eu", "metadata", "labels", "region")
		}, nil, ""},
		{"pool data patched", func(t *testing.T, o Objects) {
			setField(t, o[pool], "name: batch\nconcurrencyLimit: 40\n", "data", "pool.yaml")
		}, []string{pool}, "Give each environment its own render"},
		{"index patched to match", func(t *testing.T, o Objects) {
			setField(t, o[index], "flows-pool-batch: sha256:0000\n", "data", "index.yaml")
		}, []string{index}, "--config-digest"},
		{"index removed", func(t *testing.T, o Objects) {
			delete(o, index)
		}, []string{index}, "no config index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := objectsOf(t, renderProject(t, "testdata/base/flows.yaml"))
			tc.change(t, o)
			got, why := unsigned(o)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("refused %v, want %v (%v)", got, tc.want, why)
			}
			for _, k := range got {
				if !strings.Contains(why[k], tc.says) {
					t.Errorf("%s: %q does not say %q", k, why[k], tc.says)
				}
			}
		})
	}
	if got, _ := unsigned(Objects{}); got != nil {
		t.Errorf("objects without config: %v", got)
	}
}

func setField(t *testing.T, u *unstructured.Unstructured, v any, path ...string) {
	t.Helper()
	if u == nil {
		t.Fatalf("no object to set %v in", path)
	}
	if err := unstructured.SetNestedField(u.Object, v, path...); err != nil {
		t.Fatal(err)
	}
}
