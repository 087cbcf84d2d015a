package plugin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestVersion(t *testing.T) {
	fc := newFakeCluster(t, false)
	out, _, code := fc.kf(t, "version")
	if code != 0 || !strings.HasPrefix(out, "kubectl-flows ") || !strings.Contains(out, "reconciler    not installed in namespace flows") {
		t.Errorf("%d %q", code, out)
	}
	two := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "flows-reconciler", Namespace: "flows"},
		Spec: appsv1.DeploymentSpec{Replicas: &two, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "reconciler", Image: "ghcr.io/kubectl-flows/flows-reconciler:v0.3.1"}},
		}}},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 2},
	}
	if _, err := fc.client.AppsV1().Deployments("flows").Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, _, code = fc.kf(t, "version", "-o", "json")
	var v VersionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 {
		t.Fatalf("%d %v %s", code, err, out)
	}
	if v.Reconciler == nil || v.Reconciler.Version != "v0.3.1" || v.Reconciler.ReadyReplicas != 2 || v.Client.Version == "" {
		t.Errorf("%+v %+v", v.Client, v.Reconciler)
	}
	out, _, _ = fc.kf(t, "version", "--client")
	if strings.Contains(out, "reconciler") {
		t.Errorf("--client printed %q", out)
	}
}
