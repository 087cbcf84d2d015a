package plugin

import (
	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// pauseState says whether and why a pool, queue or deployment is paused.
// get prints it as a short cell and describe as a sentence; both come from
// this one value so the two cannot disagree.
type pauseState int

const (
	notPaused       pauseState = iota
	pausedByProject            // paused: true in the project file
	pausedByKubectl            // `kubectl flows pause`, an annotation on the ConfigMap
	pausedViaPool              // not paused itself, but its pool is
	pausedViaQueue             // a deployment not paused itself, but its queue is
)

// pauseOf shows a pause (project.PauseOf, the one precedence) from the
// point of view of what is shown: its own pause, or its pool's or queue's.
func pauseOf(p project.Pause, own project.PauseLevel) pauseState {
	switch {
	case !p.Paused():
		return notPaused
	case p.Level == own && p.ByKubectl:
		return pausedByKubectl
	case p.Level == own:
		return pausedByProject
	case p.Level == project.PausePool:
		return pausedViaPool
	}
	return pausedViaQueue
}

// String is the get column and the status field of get -o json|yaml.
func (p pauseState) String() string {
	switch p {
	case pausedByProject:
		return "paused"
	case pausedByKubectl:
		return "paused (kubectl)"
	case pausedViaPool:
		return "via pool"
	case pausedViaQueue:
		return "via queue"
	}
	return "no"
}

// MarshalText keeps the views' status.paused a string.
func (p pauseState) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// sentence is describe's Paused line.
func (p pauseState) sentence() string {
	switch p {
	case pausedByProject:
		return "yes (paused: true in the project file)"
	case pausedByKubectl:
		return "yes (kubectl flows pause; until resume or the next apply)"
	case pausedViaPool:
		return "no, but its pool is paused"
	case pausedViaQueue:
		return "no, but its queue is paused"
	}
	return "no"
}

// deploymentPause is what holds a deployment's runs back: its pool, its
// queue or itself.
func (s *snapshot) deploymentPause(d *project.InstalledDeployment) pauseState {
	return pauseOf(project.PauseOf(s.installed.Pools[d.Pool], d.Queue, d), project.PauseDeployment)
}

// queuePause is what holds a queue back: its pool or itself.
func queuePause(p *project.InstalledPool, q *v1alpha1.Queue) pauseState {
	return pauseOf(project.PauseOf(p, q.Name, nil), project.PauseQueue)
}

// poolPause is whether and how a pool is paused.
func poolPause(p *project.InstalledPool) pauseState {
	return pauseOf(project.PauseOf(p, "", nil), project.PausePool)
}
