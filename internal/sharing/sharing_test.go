package sharing

import (
	"fmt"
	"testing"
)

func TestTableSharesTheFirstValue(t *testing.T) {
	var tab Table[string, *int]
	made := 0
	mk := func() *int { made++; v := made; return &v }
	a, b, c := tab.Get("a", mk), tab.Get("a", mk), tab.Get("b", mk)
	if a != b || a == c || *a != 1 || *c != 2 || made != 2 {
		t.Errorf("a=%d b=%d c=%d made %d times; want a and b one value, c another", *a, *b, *c, made)
	}
}

// Past MaxEntries the table starts afresh: keys made up by a submitter
// cannot grow it without bound, and equal keys share again after.
func TestTableIsBounded(t *testing.T) {
	var tab Table[string, *string]
	mk := func(v string) func() *string { return func() *string { return &v } }
	first := tab.Get("first", mk("first"))
	for i := range MaxEntries + 10 {
		tab.Get(fmt.Sprint(i), mk(fmt.Sprint(i)))
		if n := tab.Len(); n > MaxEntries {
			t.Fatalf("%d entries kept, bound %d", n, MaxEntries)
		}
	}
	again := tab.Get("first", mk("first again"))
	if again == first || *again != "first again" || *first != "first" {
		t.Errorf("after starting afresh: got %q (the first value handed out: %v), want a new value", *again, again == first)
	}
	if tab.Get("first", mk("third")) != again {
		t.Errorf("after starting afresh, equal keys no longer share")
	}
}
