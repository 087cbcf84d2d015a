package planner

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestParentVerdict(t *testing.T) {
	parent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "nightly-1", UID: "u1"}}
	starts := &v1alpha1.Deployment{Flow: "pipeline", Name: "nightly", Starts: []string{"etl/extract"}}
	child := func(ref *v1alpha1.RunRef) *v1alpha1.RunRequest {
		return &v1alpha1.RunRequest{Deployment: "etl/extract", Parent: ref}
	}
	ok := ParentSeen{Run: parent, State: v1alpha1.StateRunning, Deployment: "pipeline/nightly", Starts: starts}
	for _, tc := range []struct {
		name string
		req  *v1alpha1.RunRequest
		seen ParentSeen
		want string // substring of the rejection; "" accepts
	}{
		{"no parent", child(nil), ParentSeen{}, ""},
		{"running parent that starts it", child(&v1alpha1.RunRef{Run: "nightly-1", RunUID: "u1"}), ok, ""},
		{"waiting parent", child(&v1alpha1.RunRef{Run: "nightly-1", RunUID: "u1"}), ParentSeen{Run: parent, State: v1alpha1.StateScheduled, Deployment: "pipeline/nightly", Starts: starts}, ""},
		{"no such run", child(&v1alpha1.RunRef{Run: "nightly-1", RunUID: "u1"}), ParentSeen{}, "does not exist"},
		{"another UID", child(&v1alpha1.RunRef{Run: "nightly-1", RunUID: "u0"}), ok, "(uid u0) does not exist"},
		{"ended parent", child(&v1alpha1.RunRef{Run: "nightly-1", RunUID: "u1"}), ParentSeen{Run: parent, State: v1alpha1.StateCompleted, Deployment: "pipeline/nightly", Starts: starts}, "already ended (Completed)"},
		{"parent's request does not decode", child(&v1alpha1.RunRef{Run: "nightly-1", RunUID: "u1"}), ParentSeen{Run: parent, State: v1alpha1.StateRunning}, "not a valid run request"},
		{"parent's deployment not installed", child(&v1alpha1.RunRef{Run: "nightly-1", RunUID: "u1"}), ParentSeen{Run: parent, State: v1alpha1.StateRunning, Deployment: "pipeline/nightly"}, "whose starts does not list etl/extract"},
		{"not in starts", &v1alpha1.RunRequest{Deployment: "etl/load", Parent: &v1alpha1.RunRef{Run: "nightly-1", RunUID: "u1"}}, ok, "pipeline/nightly, whose starts does not list etl/load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rej := parentVerdict(tc.req, tc.seen)
			switch {
			case tc.want == "" && rej != nil:
				t.Errorf("rejected: %s", rej.Message)
			case tc.want != "" && rej == nil:
				t.Errorf("accepted, want %q", tc.want)
			case tc.want != "" && (rej.Reason != ReasonInvalidParent || !strings.Contains(rej.Message, tc.want)):
				t.Errorf("%s: %s, want %s: ...%s...", rej.Reason, rej.Message, ReasonInvalidParent, tc.want)
			}
		})
	}
}
