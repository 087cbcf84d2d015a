package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestControlledBy(t *testing.T) {
	yes, no := true, false
	ref := func(uid types.UID, controller *bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "r", UID: uid, Controller: controller}
	}
	for _, tc := range []struct {
		name string
		refs []metav1.OwnerReference
		uid  types.UID
		want bool
	}{
		{"its controller", []metav1.OwnerReference{ref("u-1", &yes)}, "u-1", true},
		{"another object controls it", []metav1.OwnerReference{ref("u-2", &yes)}, "u-1", false},
		{"owned, not controlled", []metav1.OwnerReference{ref("u-1", &no)}, "u-1", false},
		{"controller unset", []metav1.OwnerReference{ref("u-1", nil)}, "u-1", false},
		{"a plain owner beside the controller", []metav1.OwnerReference{ref("u-1", nil), ref("u-2", &yes)}, "u-1", false},
		{"no owner", nil, "u-1", false},
	} {
		obj := &metav1.ObjectMeta{OwnerReferences: tc.refs}
		if got := ControlledBy(obj, tc.uid); got != tc.want {
			t.Errorf("%s: ControlledBy = %v, want %v", tc.name, got, tc.want)
		}
	}
}
