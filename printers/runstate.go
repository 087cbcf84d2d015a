package printers

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
)

// StateLines prints a run's state, reason and message, and what it waits
// on, when they change.
type StateLines struct {
	out            io.Writer
	now            func() time.Time
	mu             sync.Mutex
	last, lastWait string
}

// Run prints the run's state, reason and message if they changed.
func (l *StateLines) Run(r *client.RunInfo) {
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

// Wait prints what the run waits on if it changed.
func (l *StateLines) Wait(state v1alpha1.RunState, wait string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait != "" && wait != l.lastWait {
		l.lastWait = wait
		l.write(fmt.Sprintf("%-10s %s", state, wait))
	}
}

func (l *StateLines) write(line string) {
	fmt.Fprintf(l.out, "%s  %s\n", l.now().UTC().Format(time.RFC3339), strings.TrimRight(line, " "))
}

// NewStateLines prints to out, each line stamped with now's time.
func NewStateLines(out io.Writer, now func() time.Time) *StateLines {
	return &StateLines{out: out, now: now}
}

// EndSummary is how a run ended in one line: its name, final state and
// running time, and for any end but Completed its reason and message.
func EndSummary(r *client.RunInfo, now time.Time) string {
	st := r.Status
	summary := fmt.Sprintf("run %s %s", r.ConfigMap.Name, r.State())
	if ran, ok := r.Ran(now); ok && st.EndTime != nil {
		summary += " after " + duration.HumanDuration(ran)
	}
	if r.State() == v1alpha1.StateCompleted {
		return summary
	}
	if st.Reason != "" {
		summary += ": " + st.Reason
	}
	if st.Message != "" {
		summary += ": " + st.Message
	}
	return summary
}

// LogTail prints the end of a pod's log the reconciler saved, between
// marker lines; nothing when none was saved.
func LogTail(w io.Writer, tail string) {
	if tail == "" {
		return
	}
	fmt.Fprintf(w, "--- last lines of the pod's log ---\n%s", tail)
	if !strings.HasSuffix(tail, "\n") {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "---")
}
