package plugin

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
		want  pauseState
	}{
		{project.Pause{}, project.PauseDeployment, notPaused},
		{project.Pause{Level: project.PauseDeployment}, project.PauseDeployment, pausedByProject},
		{project.Pause{Level: project.PauseDeployment, ByKubectl: true}, project.PauseDeployment, pausedByKubectl},
		{project.Pause{Level: project.PausePool, ByKubectl: true}, project.PauseDeployment, pausedViaPool},
		{project.Pause{Level: project.PauseQueue}, project.PauseDeployment, pausedViaQueue},
		{project.Pause{Level: project.PausePool}, project.PauseQueue, pausedViaPool},
		{project.Pause{Level: project.PauseQueue, ByKubectl: true}, project.PauseQueue, pausedByKubectl},
		{project.Pause{Level: project.PausePool}, project.PausePool, pausedByProject},
	} {
		if got := pauseOf(tc.pause, tc.own); got != tc.want {
			t.Errorf("pauseOf(%+v, %s) = %v, want %v", tc.pause, tc.own, got, tc.want)
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
