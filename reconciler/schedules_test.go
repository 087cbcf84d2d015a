package reconciler

import (
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
	"github.com/kubectl-flows/kubectl-flows/project"
)

func TestScheduledRunNameIsStable(t *testing.T) {
	d := &v1alpha1.Deployment{Flow: "hello", Name: "arthur", Schedules: []v1alpha1.Schedule{{Cron: "0 9 * * *"}}}
	tick := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if got := ScheduledRunName(d, 0, tick); got != "hello-arthur-s0-20261123-090000" {
		t.Errorf("ScheduledRunName = %q", got)
	}
	id := ScheduleID(d, 0)
	d.Schedules[0].Cron = "0 10 * * *"
	if ScheduleID(d, 0) == id {
		t.Error("editing a schedule kept its identity; it would backfill under the new definition")
	}
}

func TestOlderRV(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"9", "10", true}, {"10", "9", false}, {"10", "10", false}, {"x", "y", true}, {"x", "x", false}} {
		if got := olderRV(tc.a, tc.b); got != tc.want {
			t.Errorf("olderRV(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestUsageBlocked(t *testing.T) {
	two, one := int32(2), int32(1)
	pool := &project.InstalledPool{Pool: v1alpha1.Pool{Name: "p", ConcurrencyLimit: &two, Queues: []v1alpha1.Queue{{Name: "q", ConcurrencyLimit: &two}}}}
	d := &project.InstalledDeployment{Deployment: v1alpha1.Deployment{Flow: "f", Name: "d", Queue: "q", ConcurrencyLimit: &one}}
	other := &project.InstalledDeployment{Deployment: v1alpha1.Deployment{Flow: "f", Name: "e", Queue: "q"}}
	cfg := &project.Installed{TagLimits: map[string]int32{"db": 1}}
	u := planner.NewUsage(nil)
	s := planner.SlotsOf("p", "q", "f/d", []string{"db"})
	if limit, _ := u.Blocked(cfg, pool, d, s); limit != "" {
		t.Fatalf("empty usage blocked by %s", limit)
	}
	u.Add(s)
	if _, full := u.Blocked(cfg, pool, d, s); !full {
		t.Error("deployment limit 1 not reported full")
	}
	if limit, _ := u.Blocked(cfg, pool, other, planner.SlotsOf("p", "q", "f/e", []string{"db"})); limit != "tag db" {
		t.Errorf("tag limit: blocked by %q", limit)
	}
	if limit, _ := u.Blocked(cfg, pool, other, planner.SlotsOf("p", "q", "f/e", nil)); limit != "" {
		t.Errorf("a run without the tag is blocked by %q", limit)
	}
	u.Add(planner.SlotsOf("p", "q", "f/e", nil))
	if limit, _ := u.Blocked(cfg, pool, other, planner.SlotsOf("p", "q", "f/e", nil)); limit != "pool p" {
		t.Errorf("pool limit: blocked by %q", limit)
	}

	// Slots held by Jobs come from held, read once per limit per pass.
	reads := 0
	u = planner.NewUsage(func(kind, name string) int32 {
		reads++
		if kind == project.SlotQueue && name == "p/q" {
			return 2
		}
		return 0
	})
	if limit, _ := u.Blocked(cfg, pool, other, planner.SlotsOf("p", "q", "f/e", nil)); limit != "queue p/q" {
		t.Errorf("queue held by Jobs: blocked by %q", limit)
	}
	u.Blocked(cfg, pool, other, planner.SlotsOf("p", "q", "f/e", nil))
	if reads != 2 { // deployment f/e has no limit: never read
		t.Errorf("held read %d times, want 2 (pool p and queue p/q, once each)", reads)
	}
}
