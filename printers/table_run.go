package printers

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
)

// RunKind is `get runs`.
var RunKind = &Kind{
	Kind: "Run", Plural: "runs", Aliases: []string{"run", "runs", "flowrun", "flowruns", "fr"},
	Columns: []metav1.TableColumnDefinition{
		col("Name", false, "run request ConfigMap"),
		col("Deployment", false, "flow/name"),
		col("State", false, "Late: Scheduled and past its time; Retrying (attempt N of M, when: last outcome) while a retry is awaited; (cancel requested) until the reconciler carries it out"),
		col("Queue", false, "pool/queue"),
		col("Age", false, ""),
		col("Duration", false, "running time"),
		col("Waiting On", false, "what a waiting run waits on, as the reconciler's dispatch pass decides it: a limit with no free slot, a pause, its scheduled time"),
		col("Position", true, "a run waiting for a slot: its place in line for that limit, in the order runs start in"),
		col("Reason", true, ""),
		col("Job", true, ""),
		col("Tags", true, "the tags it counts against: the deployment's and its own"),
		col("Scheduled", true, "scheduled start (UTC)"),
		col("Parent", true, "the run that started it (kubectl flows run inside a run's pod)"),
		col("Attempts", true, "ended attempts and their outcome, for a run with a retry policy"),
	},
	Rows: func(s *client.Snapshot) []Row {
		views := s.ViewRuns()
		out := make([]Row, len(views))
		for i := range views {
			out[i] = runRow(&views[i])
		}
		return out
	},
}

func runRow(v *client.RunView) Row {
	return Row{
		Name:   v.Name,
		Labels: v.Labels,
		Cells: []any{
			v.Name, orNone(v.Deployment), v.StateText(), orNone(v.Queue), v.Age, v.Duration, v.WaitingOn, positionCell(v.Position),
			orNone(v.Reason), orNone(v.JobName), orNone(strings.Join(v.Tags, ",")), timeCell(v.Scheduled), orNone(v.Parent),
			orNone(v.AttemptsText()),
		},
		Object: RunObject(v),
	}
}

// runStatusView is a run's status as `get -o json` shows it: the stored
// status, with the tags it counts against, whether it is Late and whether
// a cancel was asked for.
type runStatusView struct {
	v1alpha1.RunStatus `json:",inline"`
	Late               bool `json:"late,omitempty"`
	// CancelRequested: the run was asked to stop (a cancel request naming
	// it by name and UID, or the cancel annotation) and the reconciler has
	// not carried it out yet.
	CancelRequested bool `json:"cancelRequested,omitempty"`
	// WaitingOn and Position: what a waiting run waits on, and its place
	// among the runs waiting for the same limit (get's columns). Worked
	// out by the client from the runs it sees, never stored.
	WaitingOn string `json:"waitingOn,omitempty"`
	Position  int    `json:"position,omitempty"`
}

func positionCell(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// RunObject is a run as `get run NAME -o json|yaml` prints it.
func RunObject(v *client.RunView) *unstructured.Unstructured {
	r := v.Info
	st := *r.Status
	st.State = r.State()
	st.Tags = v.Tags
	var spec any = r.Request
	if r.Request == nil {
		spec = map[string]any{"invalid": r.RequestErr.Error()}
	}
	return object("Run", v.Name, v.Namespace, v.Created, v.Labels, spec,
		runStatusView{RunStatus: st, Late: v.State == v1alpha1.StateLate, CancelRequested: v.Cancel != nil, WaitingOn: v.WaitingOn, Position: v.Position})
}
