package project

import (
	"fmt"
	"strings"

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
func (l *Loaded) Deployment(full string) (*Deployment, error) {
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

// ResolveRun resolves a run of deployment d from the project file the way
// the reconciler resolves a run request: parameters over the deployment's
// defaults, checked by its parameterSchema; job variables pool < deployment
// < run, checked by the pool's template; then the pool's template renders
// the run's Job. It returns the Job and the parameters it got. Render's Job
// preview and `run --local` both use it.
func (l *Loaded) ResolveRun(d *Deployment, runName string, params, jobVars map[string]any) (*jobtemplate.Resolved, map[string]any, error) {
	merged := MergeParameters(d.Parameters, params)
	if d.ParameterSchema != nil {
		if err := ValidateParameters(d.ParameterSchema, merged); err != nil {
			return nil, nil, fmt.Errorf("parameters of %s: %w", d.FullName(), err)
		}
	}
	pool := l.Pool(d.Pool)
	if pool == nil {
		return nil, nil, fmt.Errorf("deployment %s: pool %q not found", d.FullName(), d.Pool)
	}
	res, err := l.Templates[pool.Name].Resolve(jobtemplate.Merge(DeploymentJobVariables(pool, d), jobVars), NewRun(l.Project, d, runName, merged))
	if err != nil {
		return nil, nil, fmt.Errorf("job of %s: %w", d.FullName(), err)
	}
	return res, merged, nil
}
