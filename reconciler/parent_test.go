package reconciler

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/project"
)

func TestParentVerdict(t *testing.T) {
	parent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "nightly-1", UID: "u1"}}
	starts := &project.Deployment{Flow: "pipeline", Name: "nightly", Starts: []string{"etl/extract"}}
	child := func(ref *project.RunRef) *project.RunRequest {
		return &project.RunRequest{Deployment: "etl/extract", Parent: ref}
	}
	ok := parentSeen{run: parent, state: project.StateRunning, deployment: "pipeline/nightly", starts: starts}
	for _, tc := range []struct {
		name string
		req  *project.RunRequest
		seen parentSeen
		want string // substring of the rejection; "" accepts
	}{
		{"no parent", child(nil), parentSeen{}, ""},
		{"running parent that starts it", child(&project.RunRef{Run: "nightly-1", RunUID: "u1"}), ok, ""},
		{"waiting parent", child(&project.RunRef{Run: "nightly-1", RunUID: "u1"}), parentSeen{run: parent, state: project.StateScheduled, deployment: "pipeline/nightly", starts: starts}, ""},
		{"no such run", child(&project.RunRef{Run: "nightly-1", RunUID: "u1"}), parentSeen{}, "does not exist"},
		{"another UID", child(&project.RunRef{Run: "nightly-1", RunUID: "u0"}), ok, "(uid u0) does not exist"},
		{"ended parent", child(&project.RunRef{Run: "nightly-1", RunUID: "u1"}), parentSeen{run: parent, state: project.StateCompleted, deployment: "pipeline/nightly", starts: starts}, "already ended (Completed)"},
		{"parent's request does not decode", child(&project.RunRef{Run: "nightly-1", RunUID: "u1"}), parentSeen{run: parent, state: project.StateRunning}, "not a valid run request"},
		{"parent's deployment not installed", child(&project.RunRef{Run: "nightly-1", RunUID: "u1"}), parentSeen{run: parent, state: project.StateRunning, deployment: "pipeline/nightly"}, "whose starts does not list etl/extract"},
		{"not in starts", &project.RunRequest{Deployment: "etl/load", Parent: &project.RunRef{Run: "nightly-1", RunUID: "u1"}}, ok, "pipeline/nightly, whose starts does not list etl/load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rej := parentVerdict(tc.req, tc.seen)
			switch {
			case tc.want == "" && rej != nil:
				t.Errorf("rejected: %s", rej.message)
			case tc.want != "" && rej == nil:
				t.Errorf("accepted, want %q", tc.want)
			case tc.want != "" && (rej.reason != ReasonInvalidParent || !strings.Contains(rej.message, tc.want)):
				t.Errorf("%s: %s, want %s: ...%s...", rej.reason, rej.message, ReasonInvalidParent, tc.want)
			}
		})
	}
}
