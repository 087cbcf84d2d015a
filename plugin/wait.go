package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/printers"
)

// waitForRun follows a run until it ends and returns its exit status as an
// error (nil for Completed), and the run as last seen (nil if never).
// verbose (--watch) prints a line for each change of state, reason or
// message; otherwise a Completed run gets its summary line.
func waitForRun(ctx context.Context, c *client.Client, r *client.RunInfo, timeout time.Duration, verbose bool, out, errOut io.Writer) (*client.RunInfo, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	lines := printers.NewStateLines(out, c.Now)
	seen := func(r *client.RunInfo) {
		if verbose {
			lines.Run(r)
		}
	}
	seen(r)
	name := r.ConfigMap.Name
	if verbose {
		defer followWait(ctx, c, name, lines)()
	}
	last, err := c.FollowRun(ctx, name, seen)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		state := r.State()
		if last != nil {
			state = last.State()
		}
		return last, &ExitError{Code: ExitTimeout, Err: fmt.Errorf("timed out after %s waiting for run %s, which is %s; it goes on (stop it with `kubectl flows cancel %s`)", timeout, name, state, name)}
	case err != nil:
		return last, err
	}
	return last, runEnded(last, c.Now(), verbose, out, errOut)
}

// followWait prints, while the run waits, what it waits on and its place
// in line as they change. The function it returns stops it.
func followWait(ctx context.Context, c *client.Client, name string, lines *printers.StateLines) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.FollowWaiting(ctx, name, func(v *client.RunView) { lines.Wait(v.Info.State(), v.WaitText()) })
	}()
	return func() { cancel(); <-done }
}

// runEnded says how a run ended: nil for Completed (with a summary line
// unless verbose printed the states), else an *ExitError with its exit
// status, after the end of the pod's log when the reconciler saved it.
func runEnded(r *client.RunInfo, now time.Time, verbose bool, out, errOut io.Writer) error {
	code := exitCodeFor(r.State())
	summary := printers.EndSummary(r, now)
	if code == ExitCompleted {
		if !verbose {
			fmt.Fprintln(out, summary)
		}
		return nil
	}
	printers.LogTail(errOut, r.Status.LogTail)
	return &ExitError{Code: code, Err: errors.New(summary)}
}
