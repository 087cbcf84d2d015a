package reconciler

import (
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestNotificationBody(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	st := &v1alpha1.RunStatus{
		State: v1alpha1.StateFailed, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit",
		ScheduledTime: &metav1.Time{Time: now.Add(-time.Minute)}, StartTime: &metav1.Time{Time: now.Add(-50 * time.Second)},
		EndTime: &metav1.Time{Time: now}, LogTail: "Traceback: <boom> & more",
	}
	target := &v1alpha1.Notification{Name: "ops", DashboardURL: "https://flows.example.com/"}
	n := newNotification("flows", "etl-daily-x7k2p", "5d1e", "etl/daily", st, target, v1alpha1.EventFailed, nil)

	for _, tc := range []struct {
		format string
		want   map[string]any
	}{{
		format: "json",
		want: map[string]any{
			"key": "5d1e/Failed", "event": "Failed", "namespace": "flows", "run": "etl-daily-x7k2p", "runUID": "5d1e",
			"deployment": "etl/daily", "state": "Failed", "reason": "BackoffLimitExceeded",
			"message":       "Job has reached the specified backoff limit",
			"summary":       "run etl-daily-x7k2p of etl/daily: Failed (BackoffLimitExceeded): Job has reached the specified backoff limit",
			"scheduledTime": "2026-12-03T11:59:00Z", "startTime": "2026-12-03T11:59:10Z", "endTime": "2026-12-03T12:00:00Z",
			"logTail": "Traceback: <boom> & more", "link": "https://flows.example.com/runs/etl-daily-x7k2p",
		},
	}, {
		format: "slack",
		want: map[string]any{"text": "*run etl-daily-x7k2p of etl/daily: Failed (BackoffLimitExceeded): Job has reached the specified backoff limit*\n" +
			"```Traceback: &lt;boom&gt; &amp; more```\n<https://flows.example.com/runs/etl-daily-x7k2p|Open etl-daily-x7k2p in the dashboard>"},
	}} {
		t.Run(tc.format, func(t *testing.T) {
			body, err := notificationBody(n, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("keys: got %d, want %d: %s", len(got), len(tc.want), body)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestEventSummary(t *testing.T) {
	dur := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	target := &v1alpha1.Notification{LateAfter: dur(10 * time.Minute)}
	sla := &v1alpha1.SLA{MaxDuration: dur(time.Hour), MaxLateness: dur(20 * time.Second)}
	st := &v1alpha1.RunStatus{State: v1alpha1.StatePending, Reason: "Unschedulable", Message: "0/4 nodes are available"}
	for event, want := range map[string]string{
		v1alpha1.EventLate:       "Late: still waiting 10m0s past its scheduled time",
		eventSLAMaxLateness:      "SLA breached: not started within maxLateness 20s of its scheduled time",
		eventSLAMaxDuration:      "SLA breached: running longer than maxDuration 1h0m0s",
		v1alpha1.EventCrashed:    "Crashed (Unschedulable): 0/4 nodes are available",
		v1alpha1.EventTimedOut:   "TimedOut (Unschedulable): 0/4 nodes are available",
		v1alpha1.EventRejected:   "Rejected (Unschedulable): 0/4 nodes are available",
		v1alpha1.EventSLA + "/x": "SLA/x (Unschedulable): 0/4 nodes are available",
	} {
		if got := eventSummary(st, target, event, sla); got != want {
			t.Errorf("%s: %q, want %q", event, got, want)
		}
	}
}
