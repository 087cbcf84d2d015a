package project

// PauseLevel is what a pause is set on.
type PauseLevel string

const (
	PausePool       PauseLevel = "pool"
	PauseQueue      PauseLevel = "queue"
	PauseDeployment PauseLevel = "deployment"
)

// Pause is what holds runs back by being paused, if anything.
type Pause struct {
	// Level is what is paused; "" when nothing is.
	Level PauseLevel
	// ByKubectl says it was paused by `kubectl flows pause` (an annotation
	// on its config ConfigMap, lifted by resume), not by the project file.
	ByKubectl bool
}

// Paused reports whether anything is.
func (p Pause) Paused() bool { return p.Level != "" }

// PauseOf is the one precedence of pauses, by which the reconciler holds
// runs back and the CLI and the dashboard say why: the pool first, then
// the queue, then the deployment, the outermost first because it holds
// back everything inside it (resuming what is inside changes nothing while
// it stays paused); at each level `kubectl flows pause` before the project
// file, because that is the pause resume lifts. pool nil (not installed)
// has nothing paused; queue "" and d nil ask about the pool alone, d nil
// about the pool and queue alone.
func PauseOf(pool *InstalledPool, queue string, d *InstalledDeployment) Pause {
	type level struct {
		what                 PauseLevel
		byKubectl, byProject bool
	}
	// On the stack: a dispatch pass asks this of every waiting run.
	var all [3]level
	levels := all[:0]
	if pool != nil {
		levels = append(levels, level{PausePool, pool.PausedByAnnotation, pool.Paused})
		if queue != "" {
			q := pool.Queue(queue)
			levels = append(levels, level{PauseQueue, pool.PausedQueues[queue], q != nil && q.Paused})
		}
	}
	if d != nil {
		levels = append(levels, level{PauseDeployment, d.PausedByAnnotation, d.Paused})
	}
	for _, l := range levels {
		if l.byKubectl || l.byProject {
			return Pause{Level: l.what, ByKubectl: l.byKubectl}
		}
	}
	return Pause{}
}
