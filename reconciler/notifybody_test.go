package reconciler

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/project"
)

func TestNotificationBody(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	st := &project.RunStatus{
		State: project.StateFailed, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit",
		ScheduledTime: &metav1.Time{Time: now.Add(-time.Minute)}, StartTime: &metav1.Time{Time: now.Add(-50 * time.Second)},
		EndTime: &metav1.Time{Time: now}, LogTail: "Traceback: <boom> & more",
	}
	target := &project.Notification{Name: "ops", DashboardURL: "https://flows.example.com/"}
	n := newNotification("flows", "etl-daily-x7k2p", "5d1e", "etl/daily", st, target, project.EventFailed, nil)

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
			body, err := n.body(tc.format)
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
	target := &project.Notification{LateAfter: dur(10 * time.Minute)}
	sla := &project.SLA{MaxDuration: dur(time.Hour), MaxLateness: dur(20 * time.Second)}
	st := &project.RunStatus{State: project.StatePending, Reason: "Unschedulable", Message: "0/4 nodes are available"}
	for event, want := range map[string]string{
		project.EventLate:       "Late: still waiting 10m0s past its scheduled time",
		eventSLAMaxLateness:     "SLA breached: not started within maxLateness 20s of its scheduled time",
		eventSLAMaxDuration:     "SLA breached: running longer than maxDuration 1h0m0s",
		project.EventCrashed:    "Crashed (Unschedulable): 0/4 nodes are available",
		project.EventTimedOut:   "TimedOut (Unschedulable): 0/4 nodes are available",
		project.EventRejected:   "Rejected (Unschedulable): 0/4 nodes are available",
		project.EventSLA + "/x": "SLA/x (Unschedulable): 0/4 nodes are available",
	} {
		if got := eventSummary(st, target, event, sla); got != want {
			t.Errorf("%s: %q, want %q", event, got, want)
		}
	}
}

func TestSignature(t *testing.T) {
	key, body := []byte("s3cret"), []byte(`{"key":"5d1e/Failed"}`)
	sig := signBody(key, body)
	// The value a receiver computes with any HMAC-SHA256:
	// printf '%s' '{"key":"5d1e/Failed"}' | openssl dgst -sha256 -hmac s3cret
	if want := "sha256=e9dfb317ffe0ba0f925c9f3723d090ec76ef1def54c0f727aa03159f8d6ab00a"; sig != want {
		t.Fatalf("signature %q, want %q", sig, want)
	}
	for _, tc := range []struct {
		name      string
		key, body []byte
		header    string
		ok        bool
	}{
		{"as signed", key, body, sig, true},
		{"another body", key, []byte(`{"key":"5d1e/Crashed"}`), sig, false},
		{"another key", []byte("other"), body, sig, false},
		{"no prefix", key, body, strings.TrimPrefix(sig, "sha256="), false},
		{"empty", key, body, "", false},
	} {
		if got := VerifySignature(tc.key, tc.body, tc.header); got != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.ok)
		}
	}
	if idempotencyKey("5d1e", "SLA/maxDuration") != "5d1e/SLA/maxDuration" {
		t.Error(idempotencyKey("5d1e", "SLA/maxDuration"))
	}
}
