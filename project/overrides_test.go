package project_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

func TestRunOverrides(t *testing.T) {
	cases := []struct {
		name string
		pool *v1alpha1.Pool
		d    *v1alpha1.Deployment
		want []string
	}{
		{name: "default", pool: &v1alpha1.Pool{}, want: []string{"cpu_limit", "cpu_request", "env", "memory_limit", "memory_request"}},
		{name: "nil pool and deployment", want: []string{"cpu_limit", "cpu_request", "env", "memory_limit", "memory_request"}},
		{name: "pool's own list", pool: &v1alpha1.Pool{RunOverrides: []string{"image", "env"}}, want: []string{"env", "image"}},
		{name: "empty list allows none", pool: &v1alpha1.Pool{RunOverrides: []string{}}, want: []string{}},
		{name: "deployment adds, sorted and distinct", pool: &v1alpha1.Pool{RunOverrides: []string{"env"}},
			d: &v1alpha1.Deployment{RunOverrides: []string{"labels", "env"}}, want: []string{"env", "labels"}},
		{name: "a rendered (effective) list reads back the same", pool: &v1alpha1.Pool{},
			d:    &v1alpha1.Deployment{RunOverrides: []string{"cpu_limit", "cpu_request", "env", "image", "memory_limit", "memory_request"}},
			want: []string{"cpu_limit", "cpu_request", "env", "image", "memory_limit", "memory_request"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := project.RunOverrides(tc.pool, tc.d); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestCheckRunJobVariables(t *testing.T) {
	pool := &v1alpha1.Pool{}
	many := map[string]any{}
	for _, n := range []string{"image", "labels", "annotations", "command", "node_selector", "tolerations", "service_account_name", strings.Repeat("x", 5000)} {
		many[n] = 1
	}
	cases := []struct {
		name string
		pool *v1alpha1.Pool
		d    *v1alpha1.Deployment
		vars map[string]any
		want string // exact message; "" is allowed
	}{
		{name: "none", vars: nil},
		{name: "allowed", vars: map[string]any{"cpu_request": "1", "env": map[string]any{"A": "b"}}},
		{name: "dotted env key", vars: map[string]any{"env.LOG_LEVEL": "debug"}},
		{name: "image", vars: map[string]any{"image": "evil"},
			want: `job variable "image" may not be set by a run (allowed: cpu_limit, cpu_request, env, memory_limit, memory_request; an operator can allow more with runOverrides on the pool or deployment)`},
		{name: "two locked, sorted", vars: map[string]any{"service_account_name": "flows-reconciler", "finished_job_ttl": 0, "cpu_request": "1"},
			want: `job variables "finished_job_ttl", "service_account_name" may not be set by a run (allowed: cpu_limit, cpu_request, env, memory_limit, memory_request; an operator can allow more with runOverrides on the pool or deployment)`},
		{name: "dotted locked key", vars: map[string]any{"labels.app": "payments"},
			want: `job variable "labels" may not be set by a run (allowed: cpu_limit, cpu_request, env, memory_limit, memory_request; an operator can allow more with runOverrides on the pool or deployment)`},
		{name: "allowed by the deployment", d: &v1alpha1.Deployment{RunOverrides: []string{"image"}}, vars: map[string]any{"image": "x"}},
		{name: "locked pool", pool: &v1alpha1.Pool{RunOverrides: []string{}}, vars: map[string]any{"env": map[string]any{}},
			want: `job variable "env" may not be set by a run (allowed: none; an operator can allow more with runOverrides on the pool or deployment)`},
		{name: "many, bounded", vars: many,
			want: `job variables "annotations", "command", "image", "labels", "node_selector", and 3 more may not be set by a run (allowed: cpu_limit, cpu_request, env, memory_limit, memory_request; an operator can allow more with runOverrides on the pool or deployment)`},
		{name: "long name cut", vars: map[string]any{strings.Repeat("y", 1000): 1},
			want: `job variable "` + strings.Repeat("y", 100) + `… (1000 bytes)" may not be set by a run (allowed: cpu_limit, cpu_request, env, memory_limit, memory_request; an operator can allow more with runOverrides on the pool or deployment)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pool
			if p == nil {
				p = pool
			}
			err := project.CheckRunJobVariables(p, tc.d, tc.vars)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
