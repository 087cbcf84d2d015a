package client

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestForbiddenNamesVerbAndResource(t *testing.T) {
	c := New(nil, Options{Namespace: "flows"})
	err := apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New(`User "bob" cannot create resource "configmaps"`))
	explained := c.Explain(err, "create", "configmaps")
	for _, want := range []string{`you may not create configmaps in namespace "flows"`, "kubectl auth can-i create configmaps -n flows", `User "bob"`} {
		if !strings.Contains(explained.Error(), want) {
			t.Errorf("lacks %q: %s", want, explained)
		}
	}
	if !apierrors.IsForbidden(explained) {
		t.Error("the explained error no longer unwraps to the Forbidden it explains")
	}
}
