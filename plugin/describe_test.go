package plugin

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"k8s.io/kubectl/pkg/describe"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/internal/golden"
)

func TestDescribeGolden(t *testing.T) {
	fc := newFakeCluster(t, true)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"describe-run-running.txt", []string{"describe", "run", "hello-arthur-running"}},
		{"describe-run-failed.txt", []string{"describe", "run", "hello-default-failed"}},
		{"describe-run-child.txt", []string{"describe", "run", "hello-default-pending"}},
		{"describe-run-retrying.txt", []string{"describe", "run", "hello-default-retrying"}},
		{"describe-deployment.txt", []string{"describe", "deployment", "hello/arthur"}},
		{"describe-pool.txt", []string{"describe", "pool", "kubernetes"}},
		{"describe-queue.txt", []string{"describe", "queue", "kubernetes/default"}},
		{"describe-tag.txt", []string{"describe", "tag", "hello"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, code := fc.kf(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Check(t, filepath.Join("testdata", tc.golden), []byte(out))
		})
	}
	if _, errOut, code := fc.kf(t, "describe", "run", "hello-default-dnoe"); code != 1 || !strings.Contains(errOut, "did you mean hello-default-done") {
		t.Errorf("%d %s", code, errOut)
	}
}

// TestPrintRunFromDetails prints what could not be read in place of each
// object, without a cluster: the printing is a function of what was read.
// A message from the run's status goes through kubectl's PrefixWriter,
// which escapes terminal control characters.
func TestPrintRunFromDetails(t *testing.T) {
	st := &v1alpha1.RunStatus{State: v1alpha1.StateFailed, Message: "boom \x1b[31mred", JobName: "hello-default-x"}
	r := client.ReadRun(runCM("hello-default-x", "hello/default", -time.Minute, st, nil))
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
	printRun(describe.NewPrefixWriter(tw), d, clock)
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
	printRun(describe.NewPrefixWriter(tw), d, clock)
	tw.Flush()
	if !strings.Contains(b.String(), "hello-default-x (gone)") {
		t.Errorf("a Job the status names but the API server does not have should be gone:\n%s", b.String())
	}
}
