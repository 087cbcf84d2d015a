package v1alpha1

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTrustedConfigTakesOnlyTheIndexedConfig(t *testing.T) {
	cm := func(name string, data map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}
	}
	pool := cm("flows-pool-p", map[string]string{KeyPool: "name: p\n"})
	limits := cm("flows-limits", map[string]string{KeyLimits: "- {tag: db, limit: 1}\n"})
	indexData, err := ConfigIndexData(map[string]string{pool.Name: ConfigDigest(pool.Data), limits.Name: ConfigDigest(limits.Data)})
	if err != nil {
		t.Fatal(err)
	}
	index := cm(ConfigIndexName, indexData)
	root := ConfigDigest(index.Data)
	forged := cm("evil-pool", map[string]string{KeyPool: "name: p\n"})
	tampered := cm("flows-limits", map[string]string{KeyLimits: "- {tag: db, limit: 100000}\n"})

	names := func(cms []*corev1.ConfigMap) string {
		var out []string
		for _, c := range cms {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name    string
		cms     []*corev1.ConfigMap
		root    string
		want    string
		errName string
	}{
		{"rendered", []*corev1.ConfigMap{index, pool, limits}, root, "flows-pool-p,flows-limits", ""},
		{"a forged ConfigMap is ignored", []*corev1.ConfigMap{index, forged, pool, limits}, root, "flows-pool-p,flows-limits", ""},
		{"a changed ConfigMap is refused", []*corev1.ConfigMap{index, pool, tampered}, root, "flows-pool-p", "flows-limits"},
		{"an index of another digest", []*corev1.ConfigMap{index, pool, limits}, "sha256:00", "", ConfigIndexName},
		{"no index", []*corev1.ConfigMap{pool, limits}, root, "", ConfigIndexName},
		{"no root: the index found", []*corev1.ConfigMap{index, forged, pool}, "", "flows-pool-p", ""},
	} {
		got, errs := TrustedConfig(tc.cms, tc.root)
		if names(got) != tc.want {
			t.Errorf("%s: trusted %q, want %q", tc.name, names(got), tc.want)
		}
		if _, ok := errs[tc.errName]; tc.errName != "" && !ok {
			t.Errorf("%s: no error for %s: %v", tc.name, tc.errName, errs)
		}
		if tc.errName == "" && len(errs) > 0 {
			t.Errorf("%s: errors %v", tc.name, errs)
		}
	}
}
