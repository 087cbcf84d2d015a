package client

import (
	"encoding/json"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/project"
)

func TestPauseState(t *testing.T) {
	// The precedence is project.PauseOf's; this is how each outcome reads
	// from what is shown.
	for _, tc := range []struct {
		pause project.Pause
		own   project.PauseLevel
		want  PauseState
	}{
		{project.Pause{}, project.PauseDeployment, NotPaused},
		{project.Pause{Level: project.PauseDeployment}, project.PauseDeployment, PausedByProject},
		{project.Pause{Level: project.PauseDeployment, ByKubectl: true}, project.PauseDeployment, PausedByKubectl},
		{project.Pause{Level: project.PausePool, ByKubectl: true}, project.PauseDeployment, PausedViaPool},
		{project.Pause{Level: project.PauseQueue}, project.PauseDeployment, PausedViaQueue},
		{project.Pause{Level: project.PausePool}, project.PauseQueue, PausedViaPool},
		{project.Pause{Level: project.PauseQueue, ByKubectl: true}, project.PauseQueue, PausedByKubectl},
		{project.Pause{Level: project.PausePool}, project.PausePool, PausedByProject},
	} {
		if got := PauseOf(tc.pause, tc.own); got != tc.want {
			t.Errorf("PauseOf(%+v, %s) = %v, want %v", tc.pause, tc.own, got, tc.want)
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
