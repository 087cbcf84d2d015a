package reconciler

import "testing"

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
