package v1alpha1

import (
	"fmt"
	"strings"

	"github.com/kubectl-flows/kubectl-flows/internal/yamljson"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// A cancel request is a ConfigMap of its own, labelled
// LabelCancelRequest=true, whose data key KeyCancel holds a CancelRequest.
// Submitters may create ConfigMaps but never update one, so cancelling
// cannot be an edit of the run: it is a new object naming the run by name
// and UID. The UID pins it to that run: a run deleted and created again
// under the same name is not cancelled by an old request. The reconciler
// carries it out and deletes it once the run has ended.
//
// CancelRequest names the run to cancel.
type CancelRequest struct {
	Run    string    `json:"run"`
	RunUID types.UID `json:"runUID"`
}

// NewCancelRequest builds the ConfigMap that asks for run's cancellation.
func NewCancelRequest(run *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	data, err := yaml.Marshal(&CancelRequest{Run: run.Name, RunUID: run.UID})
	if err != nil {
		return nil, err
	}
	prefix := run.Name
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: prefix + "-cancel-",
			Namespace:    run.Namespace,
			Labels:       map[string]string{LabelCancelRequest: "true"},
		},
		Data: map[string]string{KeyCancel: string(data)},
	}, nil
}

// DecodeCancelRequest parses a cancel request strictly.
func DecodeCancelRequest(cm *corev1.ConfigMap) (*CancelRequest, error) {
	data := cm.Data[KeyCancel]
	if strings.TrimSpace(data) == "" {
		return nil, fmt.Errorf("cancel request %s: data key %s is missing or empty", cm.Name, KeyCancel)
	}
	js, err := yamljson.ToJSONStrict([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("cancel request %s: %s is not valid YAML: %v", cm.Name, KeyCancel, err)
	}
	r := &CancelRequest{}
	strict, err := kjson.UnmarshalStrict(js, r, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err == nil && len(strict) > 0 {
		err = strict[0]
	}
	if err != nil {
		return nil, fmt.Errorf("cancel request %s: %s: %v (known keys: run, runUID)", cm.Name, KeyCancel, err)
	}
	if errs := validation.IsDNS1123Subdomain(r.Run); len(errs) > 0 {
		return nil, fmt.Errorf("cancel request %s: run must be a run's name", cm.Name)
	}
	if r.RunUID == "" {
		return nil, fmt.Errorf("cancel request %s: runUID is required", cm.Name)
	}
	return r, nil
}
