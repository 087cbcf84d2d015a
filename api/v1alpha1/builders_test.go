package v1alpha1_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// NewRunRequest is the one constructor of a run request: what it builds
// decodes back to the request, carries the labels clients select runs by,
// and passes CheckRunObject.
func TestNewRunRequest(t *testing.T) {
	req := &v1alpha1.RunRequest{Deployment: "hello/default", Parameters: map[string]any{"n": int64(3)}, Tags: []string{"adhoc"}}
	for _, name := range []string{"", "my-run"} {
		cm, err := v1alpha1.NewRunRequest("ns", name, req)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{v1alpha1.LabelRun: "true", v1alpha1.LabelFlow: "hello", v1alpha1.LabelDeployment: "hello.default"}
		for k, v := range want {
			if cm.Labels[k] != v {
				t.Errorf("name %q: label %s = %q, want %q", name, k, cm.Labels[k], v)
			}
		}
		if cm.Namespace != "ns" || cm.Name != name || (name == "") != (cm.GenerateName == "hello-default-") {
			t.Errorf("name %q: got name %q, generateName %q", name, cm.Name, cm.GenerateName)
		}
		if err := v1alpha1.CheckRunObject(cm); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
		got, err := v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun])
		if err != nil {
			t.Fatal(err)
		}
		if got.Deployment != req.Deployment || got.Tags[0] != "adhoc" {
			t.Errorf("decoded %+v", got)
		}
	}
	if _, err := v1alpha1.NewRunRequest("ns", "", &v1alpha1.RunRequest{Deployment: "hello"}); err == nil || !strings.Contains(err.Error(), "flow/name") {
		t.Errorf("a deployment that is not flow/name: %v", err)
	}
}

func TestDeploymentLabelValueRoundTrip(t *testing.T) {
	if got := v1alpha1.DeploymentOfLabelValue(v1alpha1.DeploymentLabelValue("etl", "nightly-2")); got != "etl/nightly-2" {
		t.Errorf("round trip: %q", got)
	}
	for _, v := range []string{"", "etl", ".x", "x."} {
		if got := v1alpha1.DeploymentOfLabelValue(v); got != "" {
			t.Errorf("%q: %q, want none", v, got)
		}
	}
}

// The config documents read back as written, and strictly.
func TestConfigDocumentCodecs(t *testing.T) {
	limit := int32(2)
	pool := &v1alpha1.Pool{Name: "p", ConcurrencyLimit: &limit, BaseJobTemplate: []byte(`"t.json"`), Queues: []v1alpha1.Queue{{Name: "q", Priority: 1}}, RunOverrides: []string{}}
	cm := func(key, data string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{key: data}}
	}
	data, err := v1alpha1.EncodePool(pool)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v1alpha1.DecodePool(cm(v1alpha1.KeyPool, data))
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseJobTemplate != nil || got.Name != "p" || *got.ConcurrencyLimit != 2 || got.Queue("q") == nil || got.RunOverrides == nil {
		t.Errorf("pool read back as %+v from\n%s", got, data)
	}
	limits, err := v1alpha1.EncodeLimits([]v1alpha1.TagLimit{{Tag: "b", Limit: 1}, {Tag: "a", Limit: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := v1alpha1.DecodeLimits(cm(v1alpha1.KeyLimits, limits)); err != nil || len(l) != 2 || l[0].Tag != "a" {
		t.Errorf("limits %v, %v from\n%s", l, err, limits)
	}
	if none, _ := v1alpha1.EncodeLimits(nil); none != "[]\n" {
		t.Errorf("no limits: %q", none)
	}
	_, err = v1alpha1.DecodeDeployment(cm(v1alpha1.KeyDeployment, "flow: a\nname: b\npool: p\nentrypont: x.py:f\n"))
	if err == nil || !strings.Contains(err.Error(), "ConfigMap cm: deployment.yaml") || !strings.Contains(err.Error(), "entrypont") {
		t.Errorf("unknown field: %v", err)
	}
}
