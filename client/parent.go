package client

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// RunOfJob finds the run whose Job is named job, by name and UID, for a
// run started from inside a flow's pod (FLOWS_RUN_NAME is its Job's
// name): the run's own name unless that was too long for a Job, so a run
// of that name is looked for first, then the run whose Job name it is.
// Nil when no run has that Job.
func (c *Client) RunOfJob(ctx context.Context, job string) (*v1alpha1.RunRef, error) {
	cm, err := c.kube.CoreV1().ConfigMaps(c.ns).Get(ctx, job, metav1.GetOptions{})
	switch {
	case err == nil && cm.Labels[v1alpha1.LabelRun] == "true":
		return &v1alpha1.RunRef{Run: cm.Name, RunUID: cm.UID}, nil
	case err != nil && !apierrors.IsNotFound(err):
		return nil, c.Explain(err, "get", "configmaps")
	}
	runs, err := c.ListRuns(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if v1alpha1.JobName(r.ConfigMap.Name) == job {
			return &v1alpha1.RunRef{Run: r.ConfigMap.Name, RunUID: r.ConfigMap.UID}, nil
		}
	}
	return nil, nil
}
