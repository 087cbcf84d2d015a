package project

import (
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

// MergeParameters lays a run's parameters over the deployment's defaults,
// key by key at the top level, as Prefect does.
func MergeParameters(defaults, run map[string]any) map[string]any {
	out := make(map[string]any, len(defaults)+len(run))
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range run {
		out[k] = v
	}
	return out
}

// Deployment returns the deployment named flow/name, or an error naming the
// closest ones.
func (l *Loaded) Deployment(full string) (*v1alpha1.Deployment, error) {
	known := make([]string, len(l.Deployments))
	for i := range l.Deployments {
		if l.Deployments[i].FullName() == full {
			return &l.Deployments[i], nil
		}
		known[i] = l.Deployments[i].FullName()
	}
	msg := fmt.Sprintf("%s: no deployment %q", l.File, full)
	if close := Closest(full, known, 5); len(close) > 0 {
		msg += "; did you mean " + strings.Join(close, ", ") + "?"
	}
	return nil, fmt.Errorf("%s", msg)
}

// ResolveRun resolves a run of deployment d from the project file by the
// one rule (CheckRun, then Resolve). Render's Job preview and `run --local`
// use it.
func (l *Loaded) ResolveRun(d *v1alpha1.Deployment, runName string, params, jobVars map[string]any) (*jobtemplate.Resolved, map[string]any, error) {
	pool := l.Pool(d.Pool)
	if pool == nil {
		return nil, nil, fmt.Errorf("deployment %s: pool %q not found", d.FullName(), d.Pool)
	}
	run, err := checkRunValues(RunInputs{
		Project: l.Project, Pool: pool, Template: l.Templates[pool.Name], Deployment: d,
		Schema: l.parameterSchemas[d], Parameters: params, JobVariables: jobVars,
	})
	var re *RunError
	switch {
	case errors.As(err, &re) && !re.JobVariables:
		return nil, nil, fmt.Errorf("parameters of %s: %w", d.FullName(), err)
	case err != nil:
		return nil, nil, fmt.Errorf("job of %s: %w", d.FullName(), err)
	}
	res, err := run.Resolve(runName)
	if err != nil {
		return nil, nil, fmt.Errorf("job of %s: %w", d.FullName(), err)
	}
	return res, run.Parameters, nil
}

// RunInputs is what a run's Job is made of: its deployment, that
// deployment's pool and the pool's parsed template, and the run's own
// parameters and job variables.
type RunInputs struct {
	// Project gives the namespace the Job is made in.
	Project    *Project
	Pool       *v1alpha1.Pool
	Template   *jobtemplate.Template
	Deployment *v1alpha1.Deployment
	// Schema is the deployment's compiled parameterSchema; nil compiles
	// it from the v1alpha1.Deployment (callers that resolve many runs keep one).
	Schema       *ParameterSchema
	Parameters   map[string]any
	JobVariables map[string]any
	// Timeout is the run's own timeout, if it sets one.
	Timeout *metav1.Duration
}

// CheckedRun is a run whose values passed CheckRun, with them merged. It
// does not depend on the run's name, so runs with the same values (none of
// their own, most often) share one.
type CheckedRun struct {
	in RunInputs
	// Parameters are the deployment's defaults with the run's over them.
	Parameters map[string]any
	// JobVariables are pool < deployment < run.
	JobVariables map[string]any
	// Timeout is how long it may run from its pod's start (0: no limit),
	// and Retries its retry policy (nil: none), as its deployment, pool
	// and runOverrides decide them.
	Timeout time.Duration
	Retries *v1alpha1.RetryPolicy
}

// RunError is why a run's values are refused, and which of them: the
// reconciler rejects the run with a reason per kind, the CLI refuses to
// submit it.
type RunError struct {
	// JobVariables is true for job variables, false for parameters.
	JobVariables bool
	Err          error
}

func (e *RunError) Error() string { return e.Err.Error() }
func (e *RunError) Unwrap() error { return e.Err }

// CheckRun is the one rule by which a run's values are accepted, used by
// the reconciler's admission, `kubectl flows run` before it submits, the
// dashboard's Run form, `run --local` and render's preview: the run may set
// only the job variables its deployment lets runs override; its parameters
// go over the deployment's defaults and must pass the parameterSchema; job
// variables go pool < deployment < run and must pass the pool's template.
func CheckRun(in RunInputs) (*CheckedRun, error) {
	run, err := checkRunValues(in)
	if err != nil {
		return nil, err
	}
	if err := in.Template.Validate(run.JobVariables); err != nil {
		return nil, &RunError{JobVariables: true, Err: err}
	}
	return run, nil
}

// checkRunValues is CheckRun but for the template's check of the job
// variables, which Resolve makes anyway: for callers that resolve at once.
func checkRunValues(in RunInputs) (*CheckedRun, error) {
	if err := CheckRunJobVariables(in.Pool, in.Deployment, in.JobVariables); err != nil {
		return nil, &RunError{JobVariables: true, Err: err}
	}
	if err := checkRunTimeout(in.Pool, in.Deployment, in.Timeout); err != nil {
		return nil, &RunError{JobVariables: true, Err: err}
	}
	params := MergeParameters(in.Deployment.Parameters, in.Parameters)
	schema := in.Schema
	if schema == nil && in.Deployment.ParameterSchema != nil {
		var err error
		if schema, err = CompileParameterSchema(in.Deployment.ParameterSchema); err != nil {
			return nil, &RunError{Err: err}
		}
	}
	if err := schema.Validate(params); err != nil {
		return nil, &RunError{Err: err}
	}
	jobVars := jobtemplate.Merge(DeploymentJobVariables(in.Pool, in.Deployment), in.JobVariables)
	return &CheckedRun{in: in, Parameters: params, JobVariables: jobVars,
		Timeout: EffectiveTimeout(in.Pool, in.Deployment, in.Timeout), Retries: EffectiveRetries(in.Pool, in.Deployment)}, nil
}

// Resolve renders the Job of the run named runName from the pool's
// template.
func (r *CheckedRun) Resolve(runName string) (*jobtemplate.Resolved, error) {
	return r.in.Template.Resolve(r.JobVariables, NewRun(r.in.Project, r.in.Deployment, runName, r.Parameters))
}

// NewRun describes a run of deployment d for the job template.
func NewRun(p *Project, d *v1alpha1.Deployment, runName string, params map[string]any) jobtemplate.Run {
	return jobtemplate.Run{
		Name:       v1alpha1.JobName(runName),
		Namespace:  p.Namespace,
		Flow:       d.Flow,
		Deployment: d.FullName(),
		Entrypoint: d.Entrypoint,
		Parameters: params,
		Labels: map[string]string{
			v1alpha1.LabelRunName:    v1alpha1.JobName(runName),
			v1alpha1.LabelFlow:       d.Flow,
			v1alpha1.LabelDeployment: v1alpha1.DeploymentLabelValue(d.Flow, d.Name),
			v1alpha1.LabelPool:       d.Pool,
			v1alpha1.LabelQueue:      d.Queue,
		},
	}
}
