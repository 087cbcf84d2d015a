package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
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
	lines := &stateLines{out: out, now: c.Now}
	seen := func(r *client.RunInfo) {
		if verbose {
			lines.print(r)
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
func followWait(ctx context.Context, c *client.Client, name string, lines *stateLines) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.FollowWaiting(ctx, name, func(v *client.RunView) { lines.printWait(v.Info.State(), v.WaitText()) })
	}()
	return func() { cancel(); <-done }
}

// stateLines prints a run's state, reason and message, and what it waits
// on, when they change.
type stateLines struct {
	out            io.Writer
	now            func() time.Time
	mu             sync.Mutex
	last, lastWait string
}

func (l *stateLines) print(r *client.RunInfo) {
	st := r.Status
	line := fmt.Sprintf("%-10s %s", r.State(), st.Reason)
	if st.Message != "" {
		line += ": " + st.Message
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if line != l.last {
		l.last = line
		l.write(line)
	}
}

func (l *stateLines) printWait(state v1alpha1.RunState, wait string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait != "" && wait != l.lastWait {
		l.lastWait = wait
		l.write(fmt.Sprintf("%-10s %s", state, wait))
	}
}

func (l *stateLines) write(line string) {
	fmt.Fprintf(l.out, "%s  %s\n", l.now().UTC().Format(time.RFC3339), strings.TrimRight(line, " "))
}

// runEnded says how a run ended: nil for Completed (with a summary line
// unless verbose printed the states), else an *ExitError with its exit
// status, after the end of the pod's log when the reconciler saved it.
func runEnded(r *client.RunInfo, now time.Time, verbose bool, out, errOut io.Writer) error {
	st := r.Status
	summary := fmt.Sprintf("run %s %s", r.ConfigMap.Name, r.State())
	if ran, ok := r.Ran(now); ok && st.EndTime != nil {
		summary += " after " + duration.HumanDuration(ran)
	}
	code := exitCodeFor(r.State())
	if code == ExitCompleted {
		if !verbose {
			fmt.Fprintln(out, summary)
		}
		return nil
	}
	if st.Reason != "" {
		summary += ": " + st.Reason
	}
	if st.Message != "" {
		summary += ": " + st.Message
	}
	if st.LogTail != "" {
		fmt.Fprintf(errOut, "--- last lines of the pod's log ---\n%s", st.LogTail)
		if !strings.HasSuffix(st.LogTail, "\n") {
			fmt.Fprintln(errOut)
		}
		fmt.Fprintln(errOut, "---")
	}
	return &ExitError{Code: code, Err: errors.New(summary)}
}
