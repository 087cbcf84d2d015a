package entrypoint

import (
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestLocalProcess: the runner runs with the local interpreter, any other
// command as it is, and the environment leaves out what only the cluster
// can give.
func TestLocalProcess(t *testing.T) {
	python := func() (string, error) { return "/usr/bin/python3", nil }
	env := []corev1.EnvVar{
		{Name: "FLOWS_PARAMETERS", Value: `{"name":"Ford"}`},
		{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "token"}}},
	}
	for _, tc := range []struct {
		name string
		c    corev1.Container
		argv []string
	}{
		{"runner", corev1.Container{Args: Args(Python), Env: env}, Args("/usr/bin/python3")},
		{"own command", corev1.Container{Command: []string{"/bin/flow"}, Args: []string{"--fast"}, Env: env}, []string{"/bin/flow", "--fast"}},
		{"the image's command", corev1.Container{Env: env}, nil},
	} {
		l, err := LocalProcess(tc.c, python)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(l.Argv, tc.argv) {
			t.Errorf("%s: argv %q, want %q", tc.name, l.Argv, tc.argv)
		}
		if !slices.Equal(l.Env, []string{`FLOWS_PARAMETERS={"name":"Ford"}`}) || !slices.Equal(l.FromCluster, []string{"TOKEN"}) {
			t.Errorf("%s: env %q, from the cluster %q", tc.name, l.Env, l.FromCluster)
		}
	}
	noPython := errors.New("no python3")
	if _, err := LocalProcess(corev1.Container{Args: Args(Python)}, func() (string, error) { return "", noPython }); !errors.Is(err, noPython) {
		t.Errorf("the runner with no interpreter: %v", err)
	}
	if _, err := LocalProcess(corev1.Container{Command: []string{"/bin/flow"}}, func() (string, error) { return "", noPython }); err != nil {
		t.Errorf("a command of its own needs no interpreter: %v", err)
	}
}
