package project_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// TestCheckRun: the one rule a run's values pass, by which the reconciler
// picks its rejection reason (parameters or job variables).
func TestCheckRun(t *testing.T) {
	src := valid + "    parameterSchema: {type: object, properties: {name: {type: string}}}\n"
	l, err := project.Load(write(t, "flows.yaml", src), vars)
	if err != nil {
		t.Fatal(err)
	}
	d := &l.Deployments[0]
	pool := l.Pool(d.Pool)
	for _, tc := range []struct {
		name         string
		params, vars map[string]any
		wantErr      string // "" for accepted
		wantJobVars  bool
		wantParams   map[string]any
	}{
		{name: "defaults", wantParams: map[string]any{"name": "world"}},
		{name: "run parameters over the defaults", params: map[string]any{"name": "Ford"}, wantParams: map[string]any{"name": "Ford"}},
		{name: "parameter against the schema", params: map[string]any{"name": 3}, wantErr: "parameterSchema"},
		{name: "an allowed job variable", vars: map[string]any{"cpu_request": "1"}, wantParams: map[string]any{"name": "world"}},
		{name: "a locked job variable", vars: map[string]any{"image": "evil"}, wantErr: "image", wantJobVars: true},
		{name: "an allowed job variable the template refuses", vars: map[string]any{"env": "not a map"}, wantErr: "env", wantJobVars: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := project.CheckRun(project.RunInputs{
				Project: l.Project, Pool: pool, Template: l.Templates[pool.Name], Deployment: d,
				Parameters: tc.params, JobVariables: tc.vars,
			})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := run.Parameters["name"]; got != tc.wantParams["name"] {
					t.Errorf("parameters: name = %v, want %v", got, tc.wantParams["name"])
				}
				res, err := run.Resolve("r1")
				if err != nil {
					t.Fatal(err)
				}
				if res.Job.Name != v1alpha1.JobName("r1") {
					t.Errorf("Job name %q, want %q", res.Job.Name, v1alpha1.JobName("r1"))
				}
				return
			}
			var re *project.RunError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *RunError", err)
			}
			if re.JobVariables != tc.wantJobVars || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v (job variables: %v), want one naming %q (job variables: %v)", err, re.JobVariables, tc.wantErr, tc.wantJobVars)
			}
		})
	}
}
