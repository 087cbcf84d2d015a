package printers

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/describe"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
)

var clock = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// runWith is a run of hello/default created a minute ago, with status st
// in its data and its state label.
func runWith(t *testing.T, name string, st *v1alpha1.RunStatus) *client.RunInfo {
	cm, err := v1alpha1.NewRunRequest("flows", name, &v1alpha1.RunRequest{Deployment: "hello/default"})
	if err != nil {
		t.Fatal(err)
	}
	cm.CreationTimestamp = metav1.NewTime(clock.Add(-time.Minute))
	if cm.Data[v1alpha1.KeyStatus], err = v1alpha1.EncodeRunStatus(st); err != nil {
		t.Fatal(err)
	}
	cm.Labels[v1alpha1.LabelState] = string(st.State)
	return client.ReadRun(cm)
}

// TestDescribeRunFromDetails prints what could not be read in place of each
// object, without a cluster: the printing is a function of what was read.
// A message from the run's status goes through kubectl's PrefixWriter,
// which escapes terminal control characters.
func TestDescribeRunFromDetails(t *testing.T) {
	st := &v1alpha1.RunStatus{State: v1alpha1.StateFailed, Message: "boom \x1b[31mred", JobName: "hello-default-x"}
	r := runWith(t, "hello-default-x", st)
	d := &client.RunDetails{
		View: client.Assemble("flows", clock, nil, []*client.RunInfo{r}, nil).ViewRun(r),
		Objects: &client.RunObjects{
			JobName:   "hello-default-x",
			JobErr:    errors.New("forbidden: cannot get jobs"),
			EventsErr: errors.New("forbidden: cannot list events"),
		},
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	DescribeRun(describe.NewPrefixWriter(tw), d, clock)
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	flat := strings.Join(strings.Fields(out), " ") // columns aligned by the tabwriter
	for _, want := range []string{
		"Message: boom ^[[31mred Tags:",
		"Job: hello-default-x (cannot read it: forbidden: cannot get jobs) Events:",
		"Events: cannot list them: forbidden: cannot list events",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	d.Objects.JobErr = nil
	b.Reset()
	DescribeRun(describe.NewPrefixWriter(tw), d, clock)
	tw.Flush()
	if !strings.Contains(b.String(), "hello-default-x (gone)") {
		t.Errorf("a Job the status names but the API server does not have should be gone:\n%s", b.String())
	}
}
