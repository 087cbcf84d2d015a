package plugin

import (
	"context"
	"fmt"
	"io"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

// parentFromEnv finds the run this command runs inside of, from the
// FLOWS_RUN_NAME its Job gives every container, so a run started from a
// flow's pod records its parent (by name and UID, which the reconciler
// checks). FLOWS_RUN_NAME is the run's Job name: the run's own name unless
// that was too long for a Job, so a run of that name is looked for first,
// then the run whose Job name it is. A name that finds no run (`run
// --local` sets one too) starts the run without a parent, with a warning.
func (f *Factory) parentFromEnv(ctx context.Context, warn io.Writer) (*v1alpha1.RunRef, error) {
	job := os.Getenv(jobtemplate.EnvRunName)
	if job == "" {
		return nil, nil
	}
	c, ns, err := f.clientIn()
	if err != nil {
		return nil, err
	}
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, job, metav1.GetOptions{})
	switch {
	case err == nil && cm.Labels[v1alpha1.LabelRun] == "true":
		return &v1alpha1.RunRef{Run: cm.Name, RunUID: cm.UID}, nil
	case err != nil && !apierrors.IsNotFound(err):
		return nil, f.apiError(err, "get", "configmaps")
	}
	runs, err := f.listRuns(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if v1alpha1.JobName(r.ConfigMap.Name) == job {
			return &v1alpha1.RunRef{Run: r.ConfigMap.Name, RunUID: r.ConfigMap.UID}, nil
		}
	}
	fmt.Fprintf(warn, "warning: %s=%s names no run in namespace %q; the run is started without a parent\n", jobtemplate.EnvRunName, job, ns)
	return nil, nil
}
