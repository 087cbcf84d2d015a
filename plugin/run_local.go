package plugin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/entrypoint"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// runLocal is `run --local`: the run is resolved from the project file as
// the reconciler resolves a run request (project.Loaded.ResolveRun, the
// code behind render's Job preview), then the flow container's command
// runs as a process in the project directory with the container's
// environment over this one's. The runner's interpreter is the local one
// (python3), since the Job's `python` is the image's.
func (o *RunOptions) runLocal(ctx context.Context) error {
	if err := o.projectFlags.complete(); err != nil {
		return err
	}
	if err := o.projectFlags.validate(); err != nil {
		return err
	}
	dir := filepath.Dir(o.File)
	if !slices.ContainsFunc(o.ExtStrs, func(kv string) bool { return strings.HasPrefix(kv, project.ExtVarGitSHA+"=") }) && project.GitSHA(dir) == "" {
		// The image tag does not matter to a local run; a project outside
		// git still runs.
		o.ExtStrs = append(o.ExtStrs, project.ExtVarGitSHA+"=local")
	}
	l, err := o.load()
	if err != nil {
		return err
	}
	d, err := l.Deployment(o.deployment)
	if err != nil {
		return err
	}
	name := o.Name
	if name == "" {
		name = v1alpha1.RunNamePrefix(d.Flow, d.Name) + "local-" + strings.ToLower(rand.Text()[:5])
	}
	res, _, err := l.ResolveRun(d, name, o.params, o.jobVars)
	if err != nil {
		return &ExitError{Code: ExitRejected, Err: fmt.Errorf("not run: %w", err)}
	}
	c := res.Job.Spec.Template.Spec.Containers[0]
	local, err := entrypoint.LocalProcess(c, o.localPython)
	if err != nil {
		return err
	}
	argv := local.Argv
	if len(argv) == 0 {
		return fmt.Errorf("%s runs its image's own command (its command job variable is empty), which cannot run outside the image; leave command unset to run the entrypoint %s", d.FullName(), d.Entrypoint)
	}
	for _, name := range local.FromCluster {
		fmt.Fprintf(o.ErrOut, "warning: env %s comes from the cluster (valueFrom) and is not set in a local run\n", name)
	}

	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), local.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, o.Out, o.ErrOut
	// Ctrl-C or the timeout stops the flow as Kubernetes stops a pod:
	// SIGTERM, then SIGKILL after a grace period.
	cmd.Cancel = func() error { return cmd.Process.Signal(terminate) }
	cmd.WaitDelay = 10 * time.Second

	job := res.Job.Name
	fmt.Fprintf(o.ErrOut, "run %s of %s: %s in %s with parameters %s\n", job, d.FullName(), d.Entrypoint, dir, envValue(c, "FLOWS_PARAMETERS"))
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(10 * time.Millisecond)
	var ee *exec.ExitError
	switch {
	case err == nil:
		fmt.Fprintf(o.ErrOut, "run %s Completed after %s\n", job, took)
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("run %s timed out after %s and was stopped", job, o.Timeout)}
	case ctx.Err() != nil:
		return &ExitError{Code: ExitCancelled, Err: fmt.Errorf("run %s Cancelled after %s", job, took)}
	case errors.As(err, &ee):
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("run %s Failed after %s: %s", job, took, ee.ProcessState)}
	default:
		return fmt.Errorf("run %s could not start %q (the Job's command, run in %s): %w", job, argv[0], dir, err)
	}
}

// localPython finds the interpreter for the entrypoint runner.
func (o *RunOptions) localPython() (string, error) {
	if o.Python != "" {
		return o.Python, nil
	}
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no python3 or python on PATH to run the entrypoint with; pass --python PATH")
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
