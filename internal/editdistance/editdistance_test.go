package editdistance

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"image", "image", 0},
		{"imgae", "image", 1},  // adjacent swap
		{"imag", "image", 1},   // deletion
		{"imagee", "image", 1}, // insertion
		{"imaxe", "image", 1},  // substitution
		{"kitten", "sitting", 3},
		{"ca", "abc", 3},      // optimal string alignment: no edit of a swapped pair
		{"dépôt", "depot", 2}, // runes, not bytes
	} {
		got, ok := Distance(tc.a, tc.b)
		if !ok || got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, %v; want %d, true", tc.a, tc.b, got, ok, tc.want)
		}
		if back, _ := Distance(tc.b, tc.a); back != got {
			t.Errorf("Distance(%q, %q) = %d but reversed %d", tc.a, tc.b, got, back)
		}
	}
}

// TestDistanceCap: a name longer than MaxLen costs nothing, whichever side
// it is on, and one at MaxLen is still compared.
func TestDistanceCap(t *testing.T) {
	huge := strings.Repeat("a", 1<<20)
	at := strings.Repeat("a", MaxLen)
	if d, ok := Distance(at, at[1:]); !ok || d != 1 {
		t.Fatalf("Distance at MaxLen = %d, %v; want 1, true", d, ok)
	}
	if _, ok := Distance(at+"a", "a"); ok {
		t.Fatal("a name of MaxLen+1 bytes was compared")
	}
	for _, pair := range [][2]string{{huge, "image"}, {"image", huge}, {huge, huge}} {
		if _, ok := Distance(pair[0], pair[1]); ok {
			t.Fatal("a 1 MB name was compared")
		}
		if n := testing.AllocsPerRun(10, func() { Distance(pair[0], pair[1]) }); n != 0 {
			t.Fatalf("a 1 MB name allocated %v times; want no work at all", n)
		}
	}
}

func BenchmarkDistanceMaxLen(b *testing.B) {
	x, y := strings.Repeat("ab", MaxLen/2), strings.Repeat("ba", MaxLen/2)
	for b.Loop() {
		Distance(x, y)
	}
}
