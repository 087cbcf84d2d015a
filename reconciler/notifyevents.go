package reconciler

import (
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// The events an SLA breach fires: one per bound, so a run both late and
// long notifies twice, each under its own idempotency key.
const (
	eventSLAMaxDuration = v1alpha1.EventSLA + "/maxDuration"
	eventSLAMaxLateness = v1alpha1.EventSLA + "/maxLateness"
)

// timedOutReasons are the reasons of a run that ended because it ran out
// of time: the Job controller's for active_deadline_seconds, and the run
// timeout's.
var timedOutReasons = []string{"DeadlineExceeded", "TimedOut"}

// owedEvent is a notification of one event of a run for one target.
type owedEvent struct {
	target string
	event  string
}

// finalEvent is the event a run's final state fires, "" for none: a run
// that ran out of time fires TimedOut rather than its state.
func finalEvent(st *v1alpha1.RunStatus) string {
	switch st.State {
	case v1alpha1.StateFailed, v1alpha1.StateCrashed:
		if slices.Contains(timedOutReasons, st.Reason) {
			return v1alpha1.EventTimedOut
		}
		return string(st.State)
	case v1alpha1.StateRejected:
		return v1alpha1.EventRejected
	}
	return ""
}

// firedEvents is the notification rule: from a run's status (its state
// and times) and now, the events that have fired for each target, and
// when the next can fire (zero when none can any more). Times are read
// from the status: a run that has ended is judged as of its end.
//
//   - a final state fires its event (finalEvent);
//   - Late fires once the run has waited for its slots LateAfter past its
//     scheduled time (until it took them, or now while it still waits);
//   - SLA/maxLateness fires once the run has not started maxLateness past
//     its scheduled time (until it started, or now while it has not:
//     a run held Pending breaches it too);
//   - SLA/maxDuration fires once it has run maxDuration since it started.
func firedEvents(st *v1alpha1.RunStatus, targets []v1alpha1.Notification, sla *v1alpha1.SLA, now time.Time) (fired []owedEvent, next time.Time) {
	final := st.State.Final()
	end := now
	if final {
		end = timeOr(st.EndTime, now)
	}
	soonest := func(t time.Time) {
		if !final && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	// past reports whether the span from `from` to `until` (the run's end,
	// or now, when nil) reached limit; if not, it notes when it would.
	past := func(from time.Time, until *metav1.Time, limit time.Duration) bool {
		if until == nil && from.Add(limit).After(end) {
			soonest(from.Add(limit))
			return false
		}
		return timeOr(until, end).Sub(from) >= limit
	}
	var slaLate, slaLong bool
	if sla != nil && sla.MaxLateness != nil && st.ScheduledTime != nil {
		slaLate = past(st.ScheduledTime.Time, st.StartTime, sla.MaxLateness.Duration)
	}
	if sla != nil && sla.MaxDuration != nil && st.StartTime != nil {
		slaLong = past(st.StartTime.Time, st.EndTime, sla.MaxDuration.Duration)
	}
	// A run stops waiting for its slots when it takes them; a status
	// written straight to Running carries only its start.
	admitted := st.PendingTime
	if admitted == nil {
		admitted = st.StartTime
	}
	ev := finalEvent(st)
	for _, t := range targets {
		if ev != "" && slices.Contains(t.Events, ev) {
			fired = append(fired, owedEvent{t.Name, ev})
		}
		if slices.Contains(t.Events, v1alpha1.EventLate) && t.LateAfter != nil && st.ScheduledTime != nil &&
			past(st.ScheduledTime.Time, admitted, t.LateAfter.Duration) {
			fired = append(fired, owedEvent{t.Name, v1alpha1.EventLate})
		}
		if slices.Contains(t.Events, v1alpha1.EventSLA) {
			if slaLate {
				fired = append(fired, owedEvent{t.Name, eventSLAMaxLateness})
			}
			if slaLong {
				fired = append(fired, owedEvent{t.Name, eventSLAMaxDuration})
			}
		}
	}
	return fired, next
}

func timeOr(t *metav1.Time, or time.Time) time.Time {
	if t == nil {
		return or
	}
	return t.Time
}

// owedNotifications are the notifications a run owes now. A run that has
// ended owes what its final status write recorded (recordOwed) and is not
// done: a run that ended before its deployment had targets, or before
// this version of the reconciler, owes nothing, so an upgrade does not
// notify every failure kept by retention. A run in flight owes the events
// fired by now that no record marks done. Records of targets no longer
// configured are skipped. next is when to look again.
func owedNotifications(st *v1alpha1.RunStatus, targets []v1alpha1.Notification, sla *v1alpha1.SLA, now time.Time) (owed []owedEvent, next time.Time) {
	if st.State.Final() {
		for _, r := range st.Notifications {
			if !r.Done() && hasTarget(targets, r.Target) {
				owed = append(owed, owedEvent{r.Target, r.Event})
			}
		}
		return owed, time.Time{}
	}
	fired, next := firedEvents(st, targets, sla, now)
	for _, f := range fired {
		if r := findRecord(st, f); r == nil || !r.Done() {
			owed = append(owed, f)
		}
	}
	return owed, next
}

// recordOwed adds to a status being written with a final state a record of
// each notification fired and not yet recorded: written with the state, it
// is what a new leader reads after a failover to send what the old one did
// not.
func recordOwed(st *v1alpha1.RunStatus, targets []v1alpha1.Notification, sla *v1alpha1.SLA, now time.Time) {
	fired, _ := firedEvents(st, targets, sla, now)
	for _, f := range fired {
		if findRecord(st, f) == nil {
			st.Notifications = append(st.Notifications, v1alpha1.NotificationRecord{Target: f.target, Event: f.event})
		}
	}
}

// markNotification records what became of a notification: delivered at
// t, or, with a non-empty error, given up at t.
func markNotification(st *v1alpha1.RunStatus, o owedEvent, t time.Time, errMsg string) {
	r := findRecord(st, o)
	if r == nil {
		st.Notifications = append(st.Notifications, v1alpha1.NotificationRecord{Target: o.target, Event: o.event})
		r = &st.Notifications[len(st.Notifications)-1]
	}
	at := metav1.NewTime(t.Truncate(time.Second))
	if errMsg == "" {
		r.Delivered, r.GaveUp, r.Error = &at, nil, ""
		return
	}
	r.GaveUp, r.Error = &at, v1alpha1.Truncate(errMsg, 512)
}

func findRecord(st *v1alpha1.RunStatus, o owedEvent) *v1alpha1.NotificationRecord {
	for i := range st.Notifications {
		if r := &st.Notifications[i]; r.Target == o.target && r.Event == o.event {
			return r
		}
	}
	return nil
}

func hasTarget(targets []v1alpha1.Notification, name string) bool {
	return slices.ContainsFunc(targets, func(t v1alpha1.Notification) bool { return t.Name == name })
}
