package entrypoint

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Local is a Job's flow container as `kubectl flows run --local` runs it,
// as a process on the user's machine.
type Local struct {
	// Argv is the container's command and args; the runner's with the
	// local interpreter. Empty when the container runs its image's own
	// command, which cannot run outside the image.
	Argv []string
	// Env is the container's environment as NAME=VALUE.
	Env []string
	// FromCluster names the entries of the environment that take their
	// value from the cluster (Secrets, ConfigMaps, the pod's own fields):
	// they cannot be read here and are left out of Env.
	FromCluster []string
}

// LocalProcess is container c as a local process. python finds the local
// interpreter (the Job's `python` is the image's); it is called only when
// c runs the runner.
func LocalProcess(c corev1.Container, python func() (string, error)) (*Local, error) {
	l := &Local{Argv: append(slices.Clone(c.Command), c.Args...), Env: make([]string, 0, len(c.Env))}
	if len(c.Command) == 0 && IsRunner(c.Args) {
		p, err := python()
		if err != nil {
			return nil, err
		}
		l.Argv = Args(p)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			l.FromCluster = append(l.FromCluster, e.Name)
			continue
		}
		l.Env = append(l.Env, e.Name+"="+e.Value)
	}
	return l, nil
}
