package main

import (
	"reflect"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// The bench runs the reconciler with what the rendered Deployment gives the
// Go runtime: read from a real render, so a GOGC or a new limit there
// reaches the bench's figures.
func TestRenderedRuntimeEnv(t *testing.T) {
	p, err := fixture.Render("bench", t.TempDir(), throughputProject, nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := renderedRuntimeEnv(p.Output)
	if err != nil {
		t.Fatal(err)
	}
	limit, err := renderedMemoryLimit(p.Output)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"GOGC=50", "GOMEMLIMIT=268435456"}; limit != 256<<20 || !reflect.DeepEqual(env, want) {
		t.Errorf("limit %d, env %q; want %d and %q", limit, env, 256<<20, want)
	}
}

func TestRenderedRuntimeEnvTakesLiteralsAndTheLimit(t *testing.T) {
	deployment := `apiVersion: apps/v1
kind: Deployment
metadata: {name: flows-reconciler}
spec:
  template:
    spec:
      containers:
        - name: reconciler
          env:
            - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
            - {name: GOGC, value: "50"}
            - {name: GOMEMLIMIT, valueFrom: {resourceFieldRef: {resource: limits.memory}}}
          resources: {limits: {memory: 512Mi}}
`
	out := &render.Output{Files: map[string][]byte{"reconciler.yaml": []byte(render.Header + "kind: ServiceAccount\n---\n" + deployment)}}
	env, err := renderedRuntimeEnv(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"GOGC=50", "GOMEMLIMIT=536870912"}; !reflect.DeepEqual(env, want) {
		t.Errorf("env %q, want %q", env, want)
	}
	if _, err := renderedRuntimeEnv(&render.Output{Files: map[string][]byte{}}); err == nil {
		t.Error("no reconciler.yaml: no error")
	}
}
