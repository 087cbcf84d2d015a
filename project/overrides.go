package project

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

// defaultRunOverrides are the job variables a run may set when its pool
// names none: resources and environment, what a Prefect user sets per run.
// They change how much the pod gets and what it reads from its
// environment, never which code runs, as whom, where or for how long
// (image, service_account_name, namespace, labels, annotations, command,
// node_selector, tolerations, finished_job_ttl, the watch timeouts,
// backoff_limit, active_deadline_seconds, image_pull_policy, name stay
// locked); docs/security.md says why each is locked.
var defaultRunOverrides = []string{"cpu_limit", "cpu_request", "env", "memory_limit", "memory_request"}

// DefaultRunOverrides returns the default allow-list, sorted (a copy).
func DefaultRunOverrides() []string { return slices.Clone(defaultRunOverrides) }

// RunOverrides is the effective, sorted allow-list of job variables a run
// request may set for deployment d of pool: the pool's runOverrides (the
// default set when the pool names none, i.e. the field is absent; an empty
// list allows none) and d's additions. A nil d adds none.
func RunOverrides(pool *v1alpha1.Pool, d *v1alpha1.Deployment) []string {
	var names []string
	if pool == nil || pool.RunOverrides == nil {
		names = DefaultRunOverrides()
	} else {
		names = slices.Clone(pool.RunOverrides)
	}
	if d != nil {
		names = append(names, d.RunOverrides...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// maxLockedShown bounds how many locked names a message lists.
const maxLockedShown = 5

// CheckRunJobVariables returns nil when a run may set every job variable
// in runVars (a dotted key such as env.LOG_LEVEL sets its first segment),
// else an error naming the locked ones (sorted, at most maxLockedShown,
// each cut to v1alpha1.MaxEcho bytes) and the allowed ones.
func CheckRunJobVariables(pool *v1alpha1.Pool, d *v1alpha1.Deployment, runVars map[string]any) error {
	if len(runVars) == 0 {
		return nil
	}
	allowed := RunOverrides(pool, d)
	var locked []string
	for k := range runVars {
		if name := jobtemplate.VariableOf(k); !slices.Contains(allowed, name) {
			locked = append(locked, name)
		}
	}
	if len(locked) == 0 {
		return nil
	}
	slices.Sort(locked)
	locked = slices.Compact(locked)
	quoted := make([]string, 0, maxLockedShown+1)
	for i, n := range locked {
		if i == maxLockedShown {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(locked)-maxLockedShown))
			break
		}
		quoted = append(quoted, v1alpha1.QuoteInput(n))
	}
	what := "job variable"
	if len(locked) > 1 {
		what = "job variables"
	}
	list := strings.Join(allowed, ", ")
	if list == "" {
		list = "none"
	}
	return fmt.Errorf("%s %s may not be set by a run (allowed: %s; an operator can allow more with runOverrides on the pool or deployment)", what, strings.Join(quoted, ", "), list)
}

// fillRunOverrides writes the default allow-list into every pool that
// names none, keeping the variables its template declares, so the
// rendered pool shows what runs may set and a custom template lists no
// variable it lacks.
func (l *Loaded) fillRunOverrides() {
	for i := range l.Pools {
		pool := &l.Pools[i]
		if pool.RunOverrides != nil {
			continue
		}
		pool.RunOverrides = []string{}
		t := l.Templates[pool.Name]
		for _, n := range defaultRunOverrides {
			if t == nil || t.HasVariable(n) == nil {
				pool.RunOverrides = append(pool.RunOverrides, n)
			}
		}
	}
}

// validateRunOverrides checks that each name of a runOverrides list is a
// variable of the pool's template.
func validateRunOverrides(e *errs, fld string, t *jobtemplate.Template, names []string) {
	if t == nil {
		return // the template's own error is reported
	}
	for j, n := range names {
		if n == v1alpha1.RunOverrideTimeout {
			continue // a run's own timeout, not a job variable
		}
		if err := t.HasVariable(n); err != nil {
			e.add(fmt.Sprintf("%s[%d]", fld, j), "%v", err)
		}
	}
}
