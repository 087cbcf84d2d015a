package client

import (
	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// PauseState says whether and why a pool, queue or deployment is paused.
// get prints it as a short cell and describe as a sentence; both come from
// this one value so the two cannot disagree.
type PauseState int

// The pause states.
const (
	NotPaused       PauseState = iota
	PausedByProject            // paused: true in the project file
	PausedByKubectl            // `kubectl flows pause`, an annotation on the ConfigMap
	PausedViaPool              // not paused itself, but its pool is
	PausedViaQueue             // a deployment not paused itself, but its queue is
)

// PauseOf shows a pause (project.PauseOf, the one precedence) from the
// point of view of what is shown: its own pause, or its pool's or queue's.
func PauseOf(p project.Pause, own project.PauseLevel) PauseState {
	switch {
	case !p.Paused():
		return NotPaused
	case p.Level == own && p.ByKubectl:
		return PausedByKubectl
	case p.Level == own:
		return PausedByProject
	case p.Level == project.PausePool:
		return PausedViaPool
	}
	return PausedViaQueue
}

// String is the get column and the status field of get -o json|yaml.
func (p PauseState) String() string {
	switch p {
	case PausedByProject:
		return "paused"
	case PausedByKubectl:
		return "paused (kubectl)"
	case PausedViaPool:
		return "via pool"
	case PausedViaQueue:
		return "via queue"
	}
	return "no"
}

// MarshalText keeps the views' status.paused a string.
func (p PauseState) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Sentence is describe's Paused line.
func (p PauseState) Sentence() string {
	switch p {
	case PausedByProject:
		return "yes (paused: true in the project file)"
	case PausedByKubectl:
		return "yes (kubectl flows pause; until resume or the next apply)"
	case PausedViaPool:
		return "no, but its pool is paused"
	case PausedViaQueue:
		return "no, but its queue is paused"
	}
	return "no"
}

// DeploymentPause is what holds a deployment's runs back: its pool, its
// queue or itself.
func DeploymentPause(in *project.Installed, d *project.InstalledDeployment) PauseState {
	return PauseOf(project.PauseOf(in.Pools[d.Pool], d.Queue, d), project.PauseDeployment)
}

// QueuePause is what holds a queue back: its pool or itself.
func QueuePause(p *project.InstalledPool, q *v1alpha1.Queue) PauseState {
	return PauseOf(project.PauseOf(p, q.Name, nil), project.PauseQueue)
}

// PoolPause is whether and how a pool is paused.
func PoolPause(p *project.InstalledPool) PauseState {
	return PauseOf(project.PauseOf(p, "", nil), project.PausePool)
}
