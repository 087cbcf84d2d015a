package client

import (
	"encoding/json"
	"testing"
)

func TestPauseState(t *testing.T) {
	for _, tc := range []struct {
		byProject, byKubectl bool
		want                 PauseState
	}{
		{false, false, NotPaused},
		{true, false, PausedByProject},
		{false, true, PausedByKubectl},
		{true, true, PausedByKubectl}, // resume lifts the annotation: say so
	} {
		if got := OwnPause(tc.byProject, tc.byKubectl); got != tc.want {
			t.Errorf("OwnPause(%v, %v) = %v, want %v", tc.byProject, tc.byKubectl, got, tc.want)
		}
	}
	// get's cell, describe's sentence and the JSON status come from one value.
	for state, want := range map[PauseState][2]string{
		NotPaused:       {"no", "no"},
		PausedByProject: {"paused", "yes (paused: true in the project file)"},
		PausedByKubectl: {"paused (kubectl)", "yes (kubectl flows pause; until resume or the next apply)"},
		PausedViaPool:   {"via pool", "no, but its pool is paused"},
		PausedViaQueue:  {"via queue", "no, but its queue is paused"},
	} {
		if state.String() != want[0] || state.Sentence() != want[1] {
			t.Errorf("state %d: %q / %q, want %q / %q", state, state.String(), state.Sentence(), want[0], want[1])
		}
		b, err := json.Marshal(struct {
			Paused PauseState `json:"paused"`
		}{state})
		if err != nil {
			t.Fatal(err)
		}
		var back struct{ Paused string }
		if err := json.Unmarshal(b, &back); err != nil || back.Paused != want[0] {
			t.Errorf("state %d marshals as %s", state, b)
		}
	}
}
