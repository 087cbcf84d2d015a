package harness_test

import (
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/kubectl-flows/kubectl-flows/test/harness"
)

// The bench profiles each of these over a burst; each must answer with a
// CPU profile pprof reads, etcd and kube-controller-manager on their own
// ports.
func TestCPUProfile(t *testing.T) {
	for _, component := range harness.Profiled {
		t.Run(component, func(t *testing.T) {
			t.Parallel()
			raw, err := cp.CPUProfile(ctxFor(t, 30*time.Second), component, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			p, err := profile.ParseData(raw)
			if err != nil {
				t.Fatalf("not a profile (%d bytes): %v", len(raw), err)
			}
			if p.PeriodType == nil || p.PeriodType.Type != "cpu" || p.DurationNanos < int64(time.Second)/2 {
				t.Errorf("not a CPU profile of about a second: period type %v, duration %v", p.PeriodType, time.Duration(p.DurationNanos))
			}
		})
	}
	if _, err := cp.CPUProfile(ctxFor(t, 5*time.Second), "kube-scheduler", time.Second); err == nil {
		t.Error("a profile of kube-scheduler, which the harness does not profile: want an error")
	}
}
