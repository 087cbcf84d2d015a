package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/internal/yamlcodec"
)

// Config comes only from operators. Anyone who may submit runs may create
// ConfigMaps, with any name not yet taken and any label, so a config
// ConfigMap cannot be known by its label or name alone. Render therefore
// writes an index, ConfigIndexName, listing every config ConfigMap by name
// with the digest of its data, and puts the digest of the index itself
// into the reconciler Deployment's arguments (--config-digest), which only
// operators may change. The reconciler reads config only from ConfigMaps
// that the index it was started with lists, whose data matches the
// listed digest: a forged ConfigMap is ignored, and a tampered one holds
// its runs back with a message, until the rendered config is applied.
// Annotations are not part of the data, so `kubectl flows pause` still
// works without a render. A config change changes the Deployment's
// arguments and so rolls the reconciler, as kustomize's configMapGenerator
// does.

// ConfigDigest is the digest of a ConfigMap's data: sha256 over its keys
// in order, each key and value ended by a NUL.
func ConfigDigest(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	// Through one small buffer: a value is a deployment's whole Job
	// preview, which a []byte conversion would copy for each ConfigMap.
	var chunk [1024]byte
	write := func(s string) {
		for len(s) > 0 {
			n := copy(chunk[:], s)
			h.Write(chunk[:n])
			s = s[n:]
		}
		h.Write([]byte{0})
	}
	for _, k := range keys {
		write(k)
		write(data[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ConfigIndexData is the data of the index ConfigMap listing the digests
// of the config ConfigMaps, by name.
func ConfigIndexData(digests map[string]string) (map[string]string, error) {
	b, err := yamlcodec.Marshal(digests)
	if err != nil {
		return nil, err
	}
	return map[string]string{KeyConfigIndex: string(b)}, nil
}

// TrustedConfig picks, from the config ConfigMaps in a namespace, those
// the index whose data has digest root lists with matching data. Listed
// ConfigMaps whose data does not match are reported in errs by name, as
// are a missing or unreadable index (under ConfigIndexName). With root
// empty the index found is taken as it is: clients that cannot read the
// reconciler's arguments (a submitter's `kubectl flows get`) still ignore
// ConfigMaps the index does not list.
func TrustedConfig(cms []*corev1.ConfigMap, root string) (trusted []*corev1.ConfigMap, errs map[string]error) {
	errs = map[string]error{}
	var index *corev1.ConfigMap
	for _, cm := range cms {
		if cm.Name == ConfigIndexName {
			index = cm
		}
	}
	if index == nil {
		errs[ConfigIndexName] = fmt.Errorf("config index ConfigMap %s is not installed: apply the rendered manifests", ConfigIndexName)
		return nil, errs
	}
	if root != "" {
		if got := ConfigDigest(index.Data); got != root {
			errs[ConfigIndexName] = fmt.Errorf("ConfigMap %s does not match the reconciler's --config-digest (%s, found %s): apply the rendered manifests (the reconciler Deployment and the config together)", ConfigIndexName, root, got)
			return nil, errs
		}
	}
	var digests map[string]string
	if err := yaml.UnmarshalStrict([]byte(index.Data[KeyConfigIndex]), &digests); err != nil {
		errs[ConfigIndexName] = fmt.Errorf("ConfigMap %s: %s: %v", ConfigIndexName, KeyConfigIndex, err)
		return nil, errs
	}
	for _, cm := range cms {
		want, listed := digests[cm.Name]
		if !listed {
			continue // not rendered config: ignored
		}
		if got := ConfigDigest(cm.Data); got != want {
			errs[cm.Name] = fmt.Errorf("ConfigMap %s was changed since it was rendered (data digest %s, rendered %s): apply the rendered manifests", cm.Name, shortDigest(got), shortDigest(want))
			continue
		}
		trusted = append(trusted, cm)
	}
	return trusted, errs
}

func shortDigest(d string) string {
	if s, ok := strings.CutPrefix(d, "sha256:"); ok && len(s) > 12 {
		return "sha256:" + s[:12]
	}
	return d
}
