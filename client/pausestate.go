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

// OwnPause is the state of something paused by the project file, by
// `kubectl flows pause`, or neither; the annotation wins, since it is the
// one resume lifts.
func OwnPause(byProject, byKubectl bool) PauseState {
	switch {
	case byKubectl:
		return PausedByKubectl
	case byProject:
		return PausedByProject
	}
	return NotPaused
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

// DeploymentPause is a deployment's own state, else that of its pool or
// queue.
func DeploymentPause(in *project.Installed, d *project.InstalledDeployment) PauseState {
	if own := OwnPause(d.Paused, d.PausedByAnnotation); own != NotPaused {
		return own
	}
	if p := in.Pools[d.Pool]; p != nil {
		if p.PoolPaused() {
			return PausedViaPool
		}
		if p.QueuePaused(d.Queue) {
			return PausedViaQueue
		}
	}
	return NotPaused
}

// QueuePause is a queue's own state (the annotation of its pool's
// ConfigMap, or the project file), else its pool's.
func QueuePause(p *project.InstalledPool, q *v1alpha1.Queue) PauseState {
	switch {
	case p.PausedQueues[q.Name]:
		return PausedByKubectl
	case q.Paused:
		return PausedByProject
	case p.PoolPaused():
		return PausedViaPool
	}
	return NotPaused
}
