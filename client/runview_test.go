package client

import (
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/planner"
)

func TestWaitText(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		wait     planner.Waiting
		on, text string
	}{
		{planner.Waiting{Reason: "WaitingForSlot", On: "tag database", Position: 3}, "tag database", "waiting on tag database, 3rd in line"},
		{planner.Waiting{Reason: "WaitingForSlot", On: "pool p", Position: 11}, "pool p", "waiting on pool p, 11th in line"},
		{planner.Waiting{Reason: "WaitingForSlot", On: "queue p/q", Position: 22}, "queue p/q", "waiting on queue p/q, 22nd in line"},
		{planner.Waiting{Reason: "Paused", On: "queue p/q"}, "paused queue p/q", "waiting on paused queue p/q"},
		{planner.Waiting{Reason: "Scheduled", Due: now.Add(10 * time.Minute)}, "not yet due (in 10m)", "waiting on not yet due (in 10m)"},
		{planner.Waiting{Reason: "WaitingForRate", On: "tag api", Due: now.Add(4 * time.Second)}, "rate of tag api (next start in 4s)", "waiting on rate of tag api (next start in 4s)"},
		{planner.Waiting{Reason: "WaitingForConfig", Message: "apply the rendered manifests"}, "config held back", "waiting on config held back: apply the rendered manifests"},
		{planner.Waiting{Reason: planner.WaitStarts}, "nothing: starts next", "waiting on nothing: starts next"},
		{planner.Waiting{Reason: planner.WaitCancelNew, On: "deployment f/n"}, "deployment f/n full (CancelNew)", "waiting on deployment f/n full (CancelNew)"},
	} {
		w := tc.wait
		v := RunView{Wait: &w, WaitingOn: waitingOn(w, now), Position: w.Position}
		if v.WaitingOn != tc.on || v.WaitText() != tc.text {
			t.Errorf("%+v: %q / %q, want %q / %q", w, v.WaitingOn, v.WaitText(), tc.on, tc.text)
		}
	}
	if (&RunView{}).WaitText() != "" {
		t.Error("a run that does not wait says it waits")
	}
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 102: "102nd", 111: "111th"} {
		if got := Ordinal(n); got != want {
			t.Errorf("Ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}
