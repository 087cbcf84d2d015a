package project_test

import (
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/project"
)

const withEnvironments = valid + `environments:
  - name: staging
    reconciler: {replicas: 1}
    pools:
      - name: k8s
        concurrencyLimit: 2
        queues:
          - {name: fast, concurrencyLimit: 1}
  - name: production
    namespace: flows-prod
    concurrencyLimits:
      - {tag: db, limit: 6}
    deployments:
      - flow: hello
        name: default
        image: example.com/hello:1.4.0
        parameters: {name: production}
`

func TestEnvironmentsMerge(t *testing.T) {
	file := write(t, "flows.yaml", withEnvironments)
	base, err := project.Load(file, vars)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(base.Environments, ","); got != "staging,production" || base.Environment != "" {
		t.Fatalf("environments %q, loaded %q", got, base.Environment)
	}
	if base.Pool("k8s").ConcurrencyLimit != nil || *base.Reconciler.Replicas != project.DefaultReplicas {
		t.Errorf("the project as written took an environment's values: %+v", base.Pool("k8s"))
	}

	staging, err := project.Load(file, project.LoadOptions{ExtVars: vars.ExtVars, Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	pool := staging.Pool("k8s")
	if pool.ConcurrencyLimit == nil || *pool.ConcurrencyLimit != 2 {
		t.Errorf("staging pool limit: %v", pool.ConcurrencyLimit)
	}
	q := pool.Queue("fast")
	if q == nil || q.ConcurrencyLimit == nil || *q.ConcurrencyLimit != 1 || q.Priority != 1 {
		t.Errorf("staging queue fast: merged by name, keeping its priority: %+v", q)
	}
	if *staging.Reconciler.Replicas != 1 || staging.Namespace != "flows" {
		t.Errorf("staging reconciler replicas %d, namespace %s", *staging.Reconciler.Replicas, staging.Namespace)
	}
	if staging.Deployments[0].Image != "example.com/hello:abc1234" {
		t.Errorf("staging image: %s", staging.Deployments[0].Image)
	}

	prod, err := project.Load(file, project.LoadOptions{ExtVars: vars.ExtVars, Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	d := prod.Deployments[0]
	if d.Image != "example.com/hello:1.4.0" || d.Entrypoint != "flows/hello.py:hello" || d.Pool != "k8s" {
		t.Errorf("production deployment merged by flow and name: %+v", d)
	}
	if d.Parameters["name"] != "production" {
		t.Errorf("production parameters: %s", d.Parameters)
	}
	if prod.Namespace != "flows-prod" || prod.ConcurrencyLimits[0].Limit != 6 {
		t.Errorf("production namespace %s, tag limit %+v", prod.Namespace, prod.ConcurrencyLimits)
	}
	if prod.Pool("k8s").ConcurrencyLimit != nil {
		t.Errorf("production took staging's pool limit")
	}
}

// A null in an environment removes the project's value.
func TestEnvironmentNullRemoves(t *testing.T) {
	file := write(t, "flows.yaml", valid+`environments:
  - name: dev
    deployments:
      - {flow: hello, name: default, parameters: null}
`)
	l, err := project.Load(file, project.LoadOptions{ExtVars: vars.ExtVars, Environment: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Deployments[0].Parameters != nil {
		t.Errorf("parameters: null kept the project's parameters: %v", l.Deployments[0].Parameters)
	}
}

// Validation of the merged project names the environment.
func TestEnvironmentInvalidMerge(t *testing.T) {
	file := write(t, "flows.yaml", valid+`environments:
  - name: dev
    deployments:
      - {flow: hello, name: default, queue: slow}
`)
	_, err := project.Load(file, project.LoadOptions{ExtVars: vars.ExtVars, Environment: "dev"})
	if err == nil || !strings.Contains(err.Error(), "flows.yaml (environment dev): deployments[0].queue") {
		t.Fatalf("want an error naming the environment and the field: %v", err)
	}
}

func TestEnvironmentErrors(t *testing.T) {
	for _, tc := range []struct {
		name, envs, env string
		want            []string
	}{
		{"unknown pool", `
  - name: staging
    pools: [{name: k9s, concurrencyLimit: 1}]`, "staging",
			[]string{`flows.yaml:22: environments[0].pools[0]: the project has no pool "k9s" (known: k8s)`, `did you mean "k8s"?`}},
		{"unknown deployment", `
  - name: staging
    deployments: [{flow: hello, name: nightly, image: x}]`, "staging",
			[]string{`environments[0].deployments[0]: the project has no deployment "hello/nightly" (known: hello/default)`}},
		{"deployment without its key", `
  - name: staging
    deployments: [{image: x}]`, "staging",
			[]string{`environments[0].deployments[0]: required: flow and name`}},
		{"unknown field", `
  - name: staging
    pools: [{name: k8s, concurencyLimit: 1}]`, "",
			[]string{`environments[0].pools[0].concurencyLimit: unknown field`}},
		{"identity is not an environment's", `
  - name: staging
    kind: Other`, "",
			[]string{`environments[0].kind: unknown field`}},
		{"duplicate", `
  - name: staging
  - name: staging`, "",
			[]string{`environments[1].name: environment "staging" declared twice`}},
		{"bad name", `
  - name: Staging`, "",
			[]string{`environments[0].name:`}},
		{"undeclared", `
  - name: staging`, "stagin",
			[]string{`environment "stagin" is not declared (known: staging); did you mean "staging"?`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := write(t, "flows.yaml", valid+"environments:"+tc.envs+"\n")
			_, err := project.Load(file, project.LoadOptions{ExtVars: vars.ExtVars, Environment: tc.env})
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := project.Load(write(t, "flows.yaml", valid), project.LoadOptions{ExtVars: vars.ExtVars, Environment: "staging"}); err == nil ||
		!strings.Contains(err.Error(), "declares no environments") {
		t.Errorf("an environment of a project without any: %v", err)
	}
}
