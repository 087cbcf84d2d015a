package reconciler

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

// A sync must not write over a version of a run that its own last write
// replaced: the write would only earn a conflict.
func TestExpectationsStaleVersion(t *testing.T) {
	e := newExpectations()
	if e.stale("a", "10") {
		t.Fatal("stale with no write recorded")
	}
	e.replaced("a", "10") // a write replaced version 10 with, say, 11
	if !e.stale("a", "10") {
		t.Fatal("the replaced version 10 is not stale")
	}
	if e.stale("b", "10") {
		t.Fatal("another run's version is stale")
	}
	e.observeVersion("a", "10") // an old event, delivered late
	if !e.stale("a", "10") {
		t.Fatal("seeing the replaced version again ended the record")
	}
	e.observeVersion("a", "11") // the cache shows our write
	if e.stale("a", "10") || len(e.behind) != 0 {
		t.Fatalf("record kept after the cache caught up: %v", e.behind)
	}
	e.replaced("a", "11")
	e.forget("a") // the run was deleted
	if len(e.behind) != 0 {
		t.Fatalf("record kept after forget: %v", e.behind)
	}
}

// Ten thousand runs taken in at once grow the claims to ten thousand;
// once the cache has shown every write, the map they grew is let go.
func TestExpectationsGiveBackGrownMaps(t *testing.T) {
	e := newExpectations()
	now := time.Now()
	for i := range 10000 {
		run := "r" + strconv.Itoa(i)
		e.claim(run, v1alpha1.StateScheduled, planner.Slots{}, now)
		e.replaced(run, "1")
	}
	grown, grownBehind := reflect.ValueOf(e.claims).Pointer(), reflect.ValueOf(e.behind).Pointer()
	for i := range 9999 {
		run := "r" + strconv.Itoa(i)
		e.observe(run, v1alpha1.StateScheduled)
		e.observeVersion(run, "2")
	}
	if reflect.ValueOf(e.claims).Pointer() != grown || reflect.ValueOf(e.behind).Pointer() != grownBehind {
		t.Fatal("a map was replaced while it still held an entry")
	}
	e.observe("r9999", v1alpha1.StateScheduled)
	e.observeVersion("r9999", "2")
	if len(e.claims) != 0 || reflect.ValueOf(e.claims).Pointer() == grown {
		t.Errorf("claims: %d left, the grown map kept %v; want none, a fresh map", len(e.claims), reflect.ValueOf(e.claims).Pointer() == grown)
	}
	if len(e.behind) != 0 || reflect.ValueOf(e.behind).Pointer() == grownBehind {
		t.Errorf("replaced versions: %d left, the grown map kept %v; want none, a fresh map", len(e.behind), reflect.ValueOf(e.behind).Pointer() == grownBehind)
	}
}
