package reconciler

import (
	"testing"
	"time"
)

func TestWriteLoad(t *testing.T) {
	const limit = 100 * time.Millisecond
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var l writeLoad
	if l.slow(limit, t0) {
		t.Fatal("slow before any write")
	}
	l.observe(400*time.Millisecond, t0)
	if l.slow(limit, t0) {
		t.Fatal("one 400 ms write after a quiet spell: slow, want not yet")
	}
	now := t0
	for i := 1; i < loadSamples; i++ {
		if l.slow(limit, now) {
			t.Fatalf("%d writes of 400 ms: slow, want %d first", i, loadSamples)
		}
		now = now.Add(10 * time.Millisecond)
		l.observe(400*time.Millisecond, now)
	}
	if !l.slow(limit, now) {
		t.Fatalf("%d writes of 400 ms: not slow", loadSamples)
	}
	if l.slow(-1, now) {
		t.Fatal("a negative limit must never pause")
	}
	// Fast writes bring the average down, an eighth of the way each.
	for i := 0; i < 8; i++ {
		now = now.Add(10 * time.Millisecond)
		l.observe(10*time.Millisecond, now)
	}
	if l.avg <= 10*time.Millisecond || l.avg >= 400*time.Millisecond {
		t.Fatalf("average after 8 fast writes = %v, want between them", l.avg)
	}
	for i := 0; i < 40; i++ {
		now = now.Add(10 * time.Millisecond)
		l.observe(10*time.Millisecond, now)
	}
	if l.slow(limit, now) {
		t.Fatalf("48 fast writes: still slow (average %v)", l.avg)
	}
	// A slow average is forgotten once nothing has been written for a
	// while: writes paused for it must be tried again.
	for range 2 * loadSamples {
		l.observe(2*time.Second, now)
	}
	if !l.slow(limit, now.Add(loadMemory)) {
		t.Fatal("slow average forgotten too soon")
	}
	if l.slow(limit, now.Add(loadMemory+time.Millisecond)) {
		t.Fatal("slow average outlived loadMemory")
	}
	// The first write after the memory lapses starts afresh.
	later := now.Add(time.Minute)
	l.observe(5*time.Millisecond, later)
	if l.avg != 5*time.Millisecond {
		t.Fatalf("average after a lapse = %v, want the one write's 5ms", l.avg)
	}
}
