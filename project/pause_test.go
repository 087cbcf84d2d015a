package project

import (
	"testing"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestPauseOf(t *testing.T) {
	type set struct{ pool, poolK, queue, queueK, dep, depK bool }
	build := func(s set) (*InstalledPool, *InstalledDeployment) {
		p := &InstalledPool{Pool: v1alpha1.Pool{Name: "p", Paused: s.pool, Queues: []v1alpha1.Queue{{Name: "q", Paused: s.queue}}},
			PausedByAnnotation: s.poolK, PausedQueues: map[string]bool{"q": s.queueK}}
		d := &InstalledDeployment{Deployment: v1alpha1.Deployment{Flow: "f", Name: "d", Pool: "p", Queue: "q", Paused: s.dep}, PausedByAnnotation: s.depK}
		return p, d
	}
	for _, tc := range []struct {
		name string
		set  set
		want Pause
	}{
		{"nothing paused", set{}, Pause{}},
		{"pool by the project file", set{pool: true}, Pause{PausePool, false}},
		{"pool by kubectl", set{poolK: true}, Pause{PausePool, true}},
		{"pool by both: kubectl, the one resume lifts", set{pool: true, poolK: true}, Pause{PausePool, true}},
		{"queue by the project file", set{queue: true}, Pause{PauseQueue, false}},
		{"queue by kubectl", set{queueK: true}, Pause{PauseQueue, true}},
		{"deployment by the project file", set{dep: true}, Pause{PauseDeployment, false}},
		{"deployment by kubectl", set{depK: true}, Pause{PauseDeployment, true}},
		{"pool before queue", set{pool: true, queueK: true}, Pause{PausePool, false}},
		{"pool before deployment", set{poolK: true, dep: true}, Pause{PausePool, true}},
		{"queue before deployment", set{queue: true, depK: true}, Pause{PauseQueue, false}},
		{"all of them: the pool", set{true, true, true, true, true, true}, Pause{PausePool, true}},
	} {
		p, d := build(tc.set)
		if got := PauseOf(p, "q", d); got != tc.want {
			t.Errorf("%s: PauseOf = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Asking about less: the pool alone, the queue alone, a deployment
	// whose pool is not installed.
	p, d := build(set{queue: true, dep: true})
	if got := PauseOf(p, "", nil); got.Paused() {
		t.Errorf("pool alone: %+v, want not paused", got)
	}
	if got := PauseOf(p, "q", nil); got != (Pause{PauseQueue, false}) {
		t.Errorf("queue alone: %+v", got)
	}
	if got := PauseOf(p, "other", nil); got.Paused() {
		t.Errorf("an unknown queue: %+v, want not paused", got)
	}
	if got := PauseOf(nil, "q", d); got != (Pause{PauseDeployment, false}) {
		t.Errorf("no pool: %+v", got)
	}
}
