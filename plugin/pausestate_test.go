package plugin

import (
	"encoding/json"
	"testing"
)

func TestPauseState(t *testing.T) {
	for _, tc := range []struct {
		byProject, byKubectl bool
		want                 pauseState
	}{
		{false, false, notPaused},
		{true, false, pausedByProject},
		{false, true, pausedByKubectl},
		{true, true, pausedByKubectl}, // resume lifts the annotation: say so
	} {
		if got := ownPause(tc.byProject, tc.byKubectl); got != tc.want {
			t.Errorf("ownPause(%v, %v) = %v, want %v", tc.byProject, tc.byKubectl, got, tc.want)
		}
	}
	// get's cell, describe's sentence and the JSON status come from one value.
	for state, want := range map[pauseState][2]string{
		notPaused:       {"no", "no"},
		pausedByProject: {"paused", "yes (paused: true in the project file)"},
		pausedByKubectl: {"paused (kubectl)", "yes (kubectl flows pause; until resume or the next apply)"},
		pausedViaPool:   {"via pool", "no, but its pool is paused"},
		pausedViaQueue:  {"via queue", "no, but its queue is paused"},
	} {
		if state.String() != want[0] || state.sentence() != want[1] {
			t.Errorf("state %d: %q / %q, want %q / %q", state, state.String(), state.sentence(), want[0], want[1])
		}
		b, err := json.Marshal(deploymentStatusView{Paused: state})
		if err != nil {
			t.Fatal(err)
		}
		var back struct{ Paused string }
		if err := json.Unmarshal(b, &back); err != nil || back.Paused != want[0] {
			t.Errorf("state %d marshals as %s", state, b)
		}
	}
}
