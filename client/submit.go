package client

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Submit creates a run request for deployment d, the one way runs are
// made by hand: `kubectl flows run` and the dashboard's Run buttons. With
// validate it first checks parameters and job variables as the reconciler
// will; a refusal is an *InvalidError. name may be empty for a generated
// one.
func (c *Client) Submit(ctx context.Context, in *project.Installed, d *project.InstalledDeployment, req *v1alpha1.RunRequest, name string, validate bool) (*corev1.ConfigMap, error) {
	// The reconciler's decoding rules (names, tags, sizes) hold whatever
	// validate says: a request they refuse could only be Rejected.
	if err := req.Check(); err != nil {
		return nil, &InvalidError{Err: fmt.Errorf("not submitted: %w", err)}
	}
	if validate {
		if err := ValidateRun(in, d, req.Parameters, req.JobVariables); err != nil {
			return nil, &InvalidError{Err: fmt.Errorf("not submitted: %w", err)}
		}
	}
	cm, err := v1alpha1.NewRunRequest(c.ns, name, req)
	if err != nil {
		return nil, err
	}
	created, err := c.kube.CoreV1().ConfigMaps(c.ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("a run (or ConfigMap) named %q already exists in namespace %q; pick another --name", name, c.ns)
	}
	if err != nil {
		return nil, c.Explain(err, "create", "configmaps")
	}
	return created, nil
}

// ValidateRun checks parameters and job variables by project.CheckRun,
// the rule the reconciler's admission applies.
func ValidateRun(in *project.Installed, d *project.InstalledDeployment, params, jobVars map[string]any) error {
	pool := in.Pools[d.Pool]
	if pool == nil {
		// The reconciler waits for the pool; the parameters can still be
		// checked now.
		return d.Params.Validate(project.MergeParameters(d.Parameters, params))
	}
	_, err := project.CheckRun(project.RunInputs{
		Pool: &pool.Pool, Template: pool.Template,
		Deployment: &d.Deployment, Schema: d.Params, Parameters: params, JobVariables: jobVars,
	})
	return err
}
