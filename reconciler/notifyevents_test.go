package reconciler

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestFiredEvents(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	dur := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	failures := v1alpha1.Notification{Name: "ops", Events: []string{"Failed", "Crashed", "Rejected", "TimedOut"}}
	late := v1alpha1.Notification{Name: "late", Events: []string{"Late"}, LateAfter: dur(10 * time.Minute)}
	slas := v1alpha1.Notification{Name: "sla", Events: []string{"SLA"}}
	all := []v1alpha1.Notification{failures, late, slas}
	sla := &v1alpha1.SLA{MaxDuration: dur(time.Hour), MaxLateness: dur(5 * time.Minute)}
	ev := func(target, event string) owedEvent { return owedEvent{target, event} }

	for _, tc := range []struct {
		name    string
		st      v1alpha1.RunStatus
		targets []v1alpha1.Notification
		sla     *v1alpha1.SLA
		fired   []owedEvent
		next    time.Time
	}{{
		name:  "failed: the targets listing Failed",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateFailed, Reason: "BackoffLimitExceeded", ScheduledTime: at(-time.Minute), PendingTime: at(-time.Minute), StartTime: at(-50 * time.Second), EndTime: at(0)},
		fired: []owedEvent{ev("ops", "Failed")},
	}, {
		name:    "failed, but no target lists Failed",
		st:      v1alpha1.RunStatus{State: v1alpha1.StateFailed, EndTime: at(0)},
		targets: []v1alpha1.Notification{late, slas},
		sla:     &v1alpha1.SLA{},
	}, {
		name:  "crashed",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateCrashed, Reason: "Unschedulable", EndTime: at(0)},
		fired: []owedEvent{ev("ops", "Crashed")},
	}, {
		name:  "rejected",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateRejected, Reason: "InvalidParameters", EndTime: at(0)},
		fired: []owedEvent{ev("ops", "Rejected")},
	}, {
		name:  "active deadline: TimedOut, not Failed",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateFailed, Reason: "DeadlineExceeded", EndTime: at(0)},
		fired: []owedEvent{ev("ops", "TimedOut")},
	}, {
		name:  "the run timeout's reason: TimedOut",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateCrashed, Reason: "TimedOut", EndTime: at(0)},
		fired: []owedEvent{ev("ops", "TimedOut")},
	}, {
		name: "completed and cancelled fire nothing of their own",
		st:   v1alpha1.RunStatus{State: v1alpha1.StateCompleted, ScheduledTime: at(-time.Minute), StartTime: at(-time.Minute), EndTime: at(0)},
	}, {
		name: "waiting, not yet late: the next look is at the earliest threshold (maxLateness)",
		st:   v1alpha1.RunStatus{State: v1alpha1.StateScheduled, ScheduledTime: at(-time.Minute)},
		next: now.Add(4 * time.Minute),
	}, {
		name:  "waiting past maxLateness, not yet lateAfter",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateScheduled, ScheduledTime: at(-6 * time.Minute)},
		fired: []owedEvent{ev("sla", "SLA/maxLateness")},
		next:  now.Add(4 * time.Minute),
	}, {
		name:  "waiting past both",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateScheduled, ScheduledTime: at(-11 * time.Minute)},
		fired: []owedEvent{ev("late", "Late"), ev("sla", "SLA/maxLateness")},
	}, {
		name:  "held Pending past maxLateness: its pod has not started",
		st:    v1alpha1.RunStatus{State: v1alpha1.StatePending, ScheduledTime: at(-6 * time.Minute), PendingTime: at(-6 * time.Minute)},
		fired: []owedEvent{ev("sla", "SLA/maxLateness")},
	}, {
		name:    "admitted in time: never Late, however long its pod waits (that is maxLateness)",
		st:      v1alpha1.RunStatus{State: v1alpha1.StatePending, ScheduledTime: at(-time.Hour), PendingTime: at(-time.Hour + time.Minute)},
		targets: []v1alpha1.Notification{late},
	}, {
		name: "started in time, running: next look at maxDuration",
		st:   v1alpha1.RunStatus{State: v1alpha1.StateRunning, ScheduledTime: at(-10 * time.Minute), PendingTime: at(-10 * time.Minute), StartTime: at(-9 * time.Minute)},
		next: now.Add(51 * time.Minute),
	}, {
		name:  "running past maxDuration",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateRunning, ScheduledTime: at(-2 * time.Hour), PendingTime: at(-2 * time.Hour), StartTime: at(-2 * time.Hour)},
		fired: []owedEvent{ev("sla", "SLA/maxDuration")},
	}, {
		name:  "ended: judged as of its end (late and long), and no next look",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateFailed, Reason: "BackoffLimitExceeded", ScheduledTime: at(-3 * time.Hour), PendingTime: at(-2 * time.Hour), StartTime: at(-2 * time.Hour), EndTime: at(-30 * time.Minute)},
		fired: []owedEvent{ev("ops", "Failed"), ev("late", "Late"), ev("sla", "SLA/maxLateness"), ev("sla", "SLA/maxDuration")},
	}, {
		name: "ended in time, looked at much later: nothing",
		st:   v1alpha1.RunStatus{State: v1alpha1.StateCompleted, ScheduledTime: at(-3 * time.Hour), PendingTime: at(-3 * time.Hour), StartTime: at(-3 * time.Hour), EndTime: at(-150 * time.Minute)},
	}, {
		name:  "cancelled while waiting, after lateAfter: Late",
		st:    v1alpha1.RunStatus{State: v1alpha1.StateCancelled, ScheduledTime: at(-20 * time.Minute), EndTime: at(0)},
		fired: []owedEvent{ev("late", "Late"), ev("sla", "SLA/maxLateness")},
	}, {
		name: "no SLA: no SLA events",
		st:   v1alpha1.RunStatus{State: v1alpha1.StateRunning, ScheduledTime: at(-3 * time.Hour), StartTime: at(-3 * time.Hour)},
		sla:  &v1alpha1.SLA{},
	}, {
		name:    "a target listing Late with no lateAfter (validation refuses it) fires nothing",
		st:      v1alpha1.RunStatus{State: v1alpha1.StateScheduled, ScheduledTime: at(-3 * time.Hour)},
		targets: []v1alpha1.Notification{{Name: "x", Events: []string{"Late"}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			targets, s := tc.targets, tc.sla
			if targets == nil {
				targets = all
			}
			if s == nil {
				s = sla
			}
			st := tc.st
			fired, next := firedEvents(&st, targets, s, now)
			if !reflect.DeepEqual(fired, tc.fired) {
				t.Errorf("fired %v, want %v", fired, tc.fired)
			}
			if !next.Equal(tc.next) {
				t.Errorf("next %v, want %v", next, tc.next)
			}
		})
	}
}

func TestOwedNotifications(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := metav1.NewTime(now.Add(-time.Minute))
	targets := []v1alpha1.Notification{
		{Name: "a", Events: []string{"Failed", "SLA"}},
		{Name: "b", Events: []string{"Failed"}},
	}
	sla := &v1alpha1.SLA{MaxDuration: &metav1.Duration{Duration: time.Minute}}
	running := v1alpha1.RunStatus{State: v1alpha1.StateRunning, StartTime: &metav1.Time{Time: now.Add(-2 * time.Minute)}}
	failed := v1alpha1.RunStatus{State: v1alpha1.StateFailed, Reason: "BackoffLimitExceeded", EndTime: &metav1.Time{Time: now}}

	// A run in flight owes what fired, less what is done.
	st := running
	if owed, _ := owedNotifications(&st, targets, sla, now); !reflect.DeepEqual(owed, []owedEvent{{"a", "SLA/maxDuration"}}) {
		t.Errorf("running: owed %v", owed)
	}
	markNotification(&st, owedEvent{"a", "SLA/maxDuration"}, now, "")
	if owed, _ := owedNotifications(&st, targets, sla, now); len(owed) != 0 {
		t.Errorf("running, delivered: owed %v", owed)
	}

	// A run that ended owes only what its final write recorded: one that
	// ended before notifications were set up owes nothing.
	st = failed
	if owed, _ := owedNotifications(&st, targets, sla, now); len(owed) != 0 {
		t.Errorf("failed, nothing recorded: owed %v", owed)
	}
	recordOwed(&st, targets, sla, now)
	want := []v1alpha1.NotificationRecord{{Target: "a", Event: "Failed"}, {Target: "b", Event: "Failed"}}
	if !reflect.DeepEqual(st.Notifications, want) {
		t.Fatalf("recorded %+v, want %+v", st.Notifications, want)
	}
	recordOwed(&st, targets, sla, now) // idempotent
	if len(st.Notifications) != 2 {
		t.Fatalf("recorded twice: %+v", st.Notifications)
	}
	markNotification(&st, owedEvent{"a", "Failed"}, now, "")
	markNotification(&st, owedEvent{"b", "Failed"}, now, "target b answered 500")
	if owed, _ := owedNotifications(&st, targets, sla, now); len(owed) != 0 {
		t.Errorf("failed, delivered and given up: owed %v", owed)
	}
	if r := st.Notifications[1]; r.GaveUp == nil || r.Delivered != nil || r.Error != "target b answered 500" {
		t.Errorf("given up: %+v", r)
	}

	// A record of a target since removed is not owed; one whose final
	// write recorded it, and a target still there, is.
	st = failed
	st.Notifications = []v1alpha1.NotificationRecord{{Target: "gone", Event: "Failed"}, {Target: "b", Event: "Failed"}, {Target: "a", Event: "Failed", Delivered: &at}}
	if owed, _ := owedNotifications(&st, targets, sla, now); !reflect.DeepEqual(owed, []owedEvent{{"b", "Failed"}}) {
		t.Errorf("failed, one owed: %v", owed)
	}
}
