package review

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// unsigned lists what the reconciler would refuse in a set of objects
// about to be applied: config ConfigMaps whose data is not what render
// signed in the config index, or an index that is not the one the
// reconciler Deployment's --config-digest names. Both come from something
// applied over the render, a kustomize overlay's patch above all, and the
// reconciler holds such config back ("changed since it was rendered")
// with every run that needs it. Problems are by object key, sorted; nil
// when the objects hold no project config.
func unsigned(objs Objects) ([]string, map[string]string) {
	byNS := map[string][]*corev1.ConfigMap{}
	digests := map[string]string{}
	for _, k := range objs.Keys() {
		u := objs[k]
		if isConfig(u) {
			var cm corev1.ConfigMap
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cm); err != nil {
				continue // readConfig reports it
			}
			byNS[cm.Namespace] = append(byNS[cm.Namespace], &cm)
		}
		if d := configDigestOf(u); d != "" {
			digests[u.GetNamespace()] = d
		}
	}
	problems := map[string]string{}
	for ns, cms := range byNS {
		_, errs := v1alpha1.TrustedConfig(cms, digests[ns])
		for name := range errs {
			key := "ConfigMap " + ns + "/" + name
			switch {
			case name == v1alpha1.ConfigIndexName && digests[ns] != "" && objs[key] != nil:
				problems[key] = fmt.Sprintf("the config index is not the one the reconciler Deployment's --config-digest names (%s): something over the render changed the index or the Deployment's arguments, and the reconciler would take no config at all", digests[ns])
			case name == v1alpha1.ConfigIndexName:
				problems[key] = "no config index with the config: apply config only as `kubectl flows render` writes it, index included"
			default:
				problems[key] = "its data is not what render signed in " + v1alpha1.ConfigIndexName + ", so the reconciler would hold it back (\"changed since it was rendered\") and every run that needs it: something applied over the render, such as a kustomize overlay's patch, changed it. Give each environment its own render (an environments: section in the project file) instead of patching config data; an overlay may change the reconciler Deployment, namespaces and labels"
			}
		}
	}
	var keys []string
	for k := range problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, problems
}

// configDigestOf is the --config-digest argument of a Deployment's
// containers, if it has one (the reconciler's).
func configDigestOf(u *unstructured.Unstructured) string {
	if u.GetKind() != "Deployment" {
		return ""
	}
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		m, _ := c.(map[string]any)
		args, _, _ := unstructured.NestedStringSlice(m, "args")
		for _, a := range args {
			if d, ok := strings.CutPrefix(a, "--config-digest="); ok {
				return d
			}
		}
	}
	return ""
}
