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

// ownPause is the state of something paused by the project file, by
// `kubectl flows pause`, or neither; the annotation wins, since it is the
// one resume lifts.
func ownPause(byProject, byKubectl bool) pauseState {
	switch {
	case byKubectl:
		return pausedByKubectl
	case byProject:
		return pausedByProject
	}
	return notPaused
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

// deploymentPause is a deployment's own state, else that of its pool or
// queue.
func (s *snapshot) deploymentPause(d *project.InstalledDeployment) pauseState {
	if own := ownPause(d.Paused, d.PausedByAnnotation); own != notPaused {
		return own
	}
	if p := s.installed.Pools[d.Pool]; p != nil {
		if p.PoolPaused() {
			return pausedViaPool
		}
		if p.QueuePaused(d.Queue) {
			return pausedViaQueue
		}
	}
	return notPaused
}

// queuePause is a queue's own state (the annotation of its pool's
// ConfigMap, or the project file), else its pool's.
func queuePause(p *project.InstalledPool, q *v1alpha1.Queue) pauseState {
	switch {
	case p.PausedQueues[q.Name]:
		return pausedByKubectl
	case q.Paused:
		return pausedByProject
	case p.PoolPaused():
		return pausedViaPool
	}
	return notPaused
}
