package project_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// policies adds retries, timeout and a rate to the valid project.
func policies(pool, deployment, limit string) string {
	s := strings.Replace(valid, "      - name: fast\n        priority: 1\n", "      - name: fast\n        priority: 1\n"+pool, 1)
	s = strings.Replace(s, "    limit: 2\n", "    limit: 2\n"+limit, 1)
	return s + deployment
}

func TestRunPoliciesLoaded(t *testing.T) {
	l, err := project.Load(write(t, "flows.yaml", policies(
		"    retries: {attempts: 2, on: [Crashed]}\n    timeout: 1h\n",
		"    retries: {attempts: 3, delay: 30s, backoff: 2, maxDelay: 5m, on: [Crashed, Evicted], neverOnExitCodes: [2, 3]}\n    timeout: 30m\n    runOverrides: [timeout]\n",
		"    rate: 10/m\n    burst: 3\n")), vars)
	if err != nil {
		t.Fatal(err)
	}
	d, pool := &l.Deployments[0], l.Pool("k8s")
	if got := project.EffectiveRetries(pool, d); got == nil || got.Attempts != 3 || got.DelayAfter(2) != time.Minute {
		t.Errorf("deployment retries %+v, want its own: 3 attempts, 30s ×2", got)
	}
	if got := project.EffectiveRetries(pool, &v1alpha1.Deployment{}); got == nil || got.Attempts != 2 {
		t.Errorf("a deployment without retries gets %+v, want its pool's", got)
	}
	if got := project.EffectiveTimeout(pool, d, nil); got != 30*time.Minute {
		t.Errorf("timeout %v, want the deployment's 30m", got)
	}
	if got := project.EffectiveTimeout(pool, &v1alpha1.Deployment{}, nil); got != time.Hour {
		t.Errorf("timeout %v, want the pool's 1h", got)
	}
	if l.ConcurrencyLimits[0].Rate != "10/m" || l.ConcurrencyLimits[0].BurstOf() != 3 {
		t.Errorf("tag limit %+v, want rate 10/m burst 3", l.ConcurrencyLimits[0])
	}
}

func TestRunPoliciesRefused(t *testing.T) {
	cases := []struct {
		name                   string
		pool, deployment, rate string
		want                   []string
	}{
		{name: "no attempts", deployment: "    retries: {delay: 10s}\n",
			want: []string{"flows.yaml:20:", "deployments[0].retries.attempts", `deployment "hello/default"`, "must be 1 to 100"}},
		{name: "unknown outcome, with a hint", deployment: "    retries: {attempts: 2, on: [Crash]}\n",
			want: []string{"deployments[0].retries.on[0]", `"Crash" is not an outcome`, "did you mean Crashed?"}},
		{name: "empty on", deployment: "    retries: {attempts: 2, on: []}\n",
			want: []string{"deployments[0].retries.on", "lists no outcome"}},
		{name: "outcome twice", deployment: "    retries: {attempts: 2, on: [Failed, Failed]}\n",
			want: []string{"deployments[0].retries.on[1]", "Failed listed twice"}},
		{name: "exit code 0 and out of range", deployment: "    retries: {attempts: 2, neverOnExitCodes: [0, 256]}\n",
			want: []string{"neverOnExitCodes[0]", "exit code 0: must be 1 to 255", "neverOnExitCodes[1]", "exit code 256"}},
		{name: "backoff below 1", pool: "    retries: {attempts: 2, backoff: 0.5}\n",
			want: []string{"pools[0].retries.backoff", `pool "k8s"`, "must be from 1"}},
		{name: "maxDelay shorter than delay", pool: "    retries: {attempts: 2, delay: 1m, maxDelay: 10s}\n",
			want: []string{"pools[0].retries.maxDelay", "10s is shorter than delay 1m0s"}},
		{name: "negative timeout", deployment: "    timeout: -1m\n",
			want: []string{"deployments[0].timeout", "must be a positive duration"}},
		{name: "bad rate", rate: "    rate: 10/day\n",
			want: []string{"flows.yaml:13:", "concurrencyLimits[0].rate", `tag "db"`, "the period must be s, m, h"}},
		{name: "burst without a rate", rate: "    burst: 3\n",
			want: []string{"concurrencyLimits[0].burst", "a burst needs a rate"}},
		{name: "burst 0", rate: "    rate: 1/s\n    burst: 0\n",
			want: []string{"concurrencyLimits[0].burst", "must be at least 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			content := policies(tc.pool, tc.deployment, tc.rate)
			_, err := project.Load(write(t, "flows.yaml", content), vars)
			if err == nil {
				t.Fatalf("no error for:\n%s", content)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// A run's own timeout is allowed only where runOverrides lists timeout.
func TestRunTimeoutOverride(t *testing.T) {
	l, err := project.Load(write(t, "flows.yaml", policies("", "    timeout: 30m\n", "")), vars)
	if err != nil {
		t.Fatal(err)
	}
	d := &l.Deployments[0]
	pool := l.Pool(d.Pool)
	in := project.RunInputs{Project: l.Project, Pool: pool, Template: l.Templates[pool.Name], Deployment: d,
		Timeout: &metav1.Duration{Duration: time.Minute}}
	if _, err := project.CheckRun(in); err == nil || !strings.Contains(err.Error(), "runOverrides: [timeout]") {
		t.Errorf("a run's timeout without runOverrides: %v, want refused naming runOverrides", err)
	}
	d.RunOverrides = []string{v1alpha1.RunOverrideTimeout}
	run, err := project.CheckRun(in)
	if err != nil {
		t.Fatal(err)
	}
	if run.Timeout != time.Minute {
		t.Errorf("timeout %v, want the run's 1m", run.Timeout)
	}
}
