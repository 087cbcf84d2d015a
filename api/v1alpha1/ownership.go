package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ControlledBy reports whether obj's controller is the object with uid:
// a run's Job is its run's by this alone, a Job's pod its Job's. Names and
// labels can be written by anyone who can create or edit an object; an
// owner reference's UID only by whoever saw the owner, and UIDs are never
// reused, whatever the kind.
func ControlledBy(obj metav1.Object, uid types.UID) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && ref.UID == uid
}
