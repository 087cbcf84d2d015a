package reconciler

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// TestObserveQueues: per queue, the runs a pass left waiting past their
// time and how late the longest-waiting is; runs not yet due, and
// decisions other than waits, do not count; a queue nobody waits in shows
// 0.
func TestObserveQueues(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p := &project.InstalledPool{Pool: v1alpha1.Pool{Name: "p", Queues: []v1alpha1.Queue{{Name: "default"}, {Name: "fast"}}}}
	dep := func(queue string) *project.InstalledDeployment {
		return &project.InstalledDeployment{Deployment: v1alpha1.Deployment{Flow: "f", Name: queue, Queue: queue}}
	}
	wait := func(queue string, late time.Duration, kind planner.DecisionKind) planner.Decision {
		return planner.Decision{Kind: kind, Admission: &planner.Admission{Pool: p, Deployment: dep(queue), Scheduled: now.Add(-late)}}
	}
	m := NewMetrics(nil)
	m.observeQueues(&project.Installed{Pools: map[string]*project.InstalledPool{"p": p}}, []planner.Decision{
		wait("default", time.Minute, planner.DecideWait),
		wait("default", 5*time.Minute, planner.DecideWait),
		wait("default", -time.Minute, planner.DecideWait), // not yet due
		wait("default", time.Hour, planner.DecideAdmit),   // starts now
		{Kind: planner.DecideWait},                        // config missing: no queue known
	}, now)
	for _, tc := range []struct {
		queue            string
		waiting, longest float64
	}{{"p/default", 2, 300}, {"p/fast", 0, 0}} {
		if got := gauge(t, m.QueueWaiting.WithLabelValues(tc.queue)); got != tc.waiting {
			t.Errorf("%s waiting %v, want %v", tc.queue, got, tc.waiting)
		}
		if got := gauge(t, m.QueueOldest.WithLabelValues(tc.queue)); got != tc.longest {
			t.Errorf("%s longest %v, want %v", tc.queue, got, tc.longest)
		}
	}
}

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
