package yamljson

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// repeat is a document of head, then key's block sequence of n items made
// by item(i), then tail.
func repeat(head, key string, n int, item func(i int) string, tail string) []byte {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(key + ":\n")
	for i := range n {
		b.WriteString(item(i))
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// The split reading gives ToJSONStrict's bytes for documents it splits:
// a project like the render benchmarks' (its own test is in
// split_fixture_test.go), and items holding what a line reader could
// mistake for an item's start or a document's end.
func TestToJSONStrictSplitMatchesWhole(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  []byte
	}{
		{"a large project", repeat("apiVersion: kubectl-flows.dev/v1alpha1\nkind: Project\npools:\n  - {name: a}\n", "deployments", 1000, func(i int) string {
			return fmt.Sprintf("  - flow: flow-%03d\n    name: d%d\n    parameters: {index: %d, name: \"run %d\"}\n    schedules: [{cron: \"%d * * * *\", timezone: Europe/Paris}]\n", i/10, i%10, i, i, i%60)
		}, "concurrencyLimits:\n  - {tag: db, limit: 10}\n")},
		{"items at column 0, a key after them", repeat("name: x\n", "deployments", 2000, func(i int) string {
			return fmt.Sprintf("- name: d%d\n  parameters: {n: %d, y: yes}\n", i, i)
		}, "pools: [a]\n")},
		{"block scalars that keep their blank lines", repeat("---\n# a comment\n", "deployments", 1000, func(i int) string {
			return fmt.Sprintf("  - name: d%d\n    script: |+\n      echo %d\n        - not an item\n\n# a comment at column 0\n    note: >-\n      folded\n      text\n\n", i, i)
		}, "")},
		{"plain scalars over lines, flow items, anchors within an item", repeat("kind: Project\n", "deployments", 1000, func(i int) string {
			if i%3 == 0 {
				return fmt.Sprintf("  - {name: d%d, tags: [a, b]}\n", i)
			}
			return fmt.Sprintf("  - name: d%d\n    description: a long\n      description\n    env: &e%d {A: \"1\"}\n    again: *e%d\n", i, i, i)
		}, "")},
		{"the longest of two sequences", repeat("pools:\n"+strings.Repeat("  - {name: p}\n", 40), "deployments", 4000, func(i int) string {
			return fmt.Sprintf("    - {name: d%d}\n", i)
		}, "queues:\n- a\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := ToJSONStrict(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := toJSONSplit(tc.doc, 2)
			if !ok {
				t.Fatalf("not split")
			}
			if string(got) != string(want) {
				t.Fatalf("split and whole differ:\n%.400s\n%.400s", got, want)
			}
		})
	}
}

// What a piece cannot show alone makes the document be read whole, so
// the result, or the error with its line, is ToJSONStrict's.
func TestToJSONStrictSplitReadsWholeWhenItMust(t *testing.T) {
	plain := func(i int) string { return fmt.Sprintf("  - name: d%d\n", i) }
	for _, tc := range []struct {
		name string
		doc  []byte
	}{
		{"an alias to an anchor in another item", repeat("", "deployments", 600, func(i int) string {
			if i == 0 {
				return "  - &first {name: d0}\n"
			}
			if i == 500 {
				return "  - *first\n"
			}
			return plain(i)
		}, "")},
		{"an alias to an anchor above the sequence", repeat("defaults: &d {image: x}\n", "deployments", 600, func(i int) string {
			return fmt.Sprintf("  - <<: *d\n    name: d%d\n", i)
		}, "")},
		{"a quoted string across an item's start", repeat("", "deployments", 600, func(i int) string {
			if i == 300 {
				return "  - name: \"a\n  - b\"\n"
			}
			return plain(i)
		}, "")},
		{"a flow sequence across an item's start", repeat("", "deployments", 600, func(i int) string {
			if i == 300 {
				return "  - [a,\n  - b]\n"
			}
			return plain(i)
		}, "")},
		{"the key set twice", repeat("deployments: []\n", "deployments", 600, plain, "")},
		{"a key set twice in an item", repeat("", "deployments", 600, func(i int) string {
			return fmt.Sprintf("  - name: d%d\n    name: again\n", i)
		}, "")},
		{"an error in the 400th item", repeat("", "deployments", 600, func(i int) string {
			if i == 400 {
				return "  - name: [d\n"
			}
			return plain(i)
		}, "")},
		{"two documents", repeat("", "deployments", 600, plain, "---\nname: x\n")},
		{"a tab for indentation", repeat("", "deployments", 600, func(i int) string {
			return fmt.Sprintf("  - name: d%d\n\tx: 1\n", i)
		}, "")},
		{"a line out of place", repeat("", "deployments", 600, func(i int) string {
			return fmt.Sprintf("    - name: d%d\n  x: 1\n", i)
		}, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := toJSONSplit(tc.doc, 2); ok {
				t.Errorf("split, want it read whole")
			}
			want, wantErr := ToJSONStrict(tc.doc)
			got, err := ToJSONStrictSplit(tc.doc)
			if string(got) != string(want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("got %.200s, %v; want %.200s, %v", got, err, want, wantErr)
			}
		})
	}
}

// Documents put together from pieces a line reader could misread, in
// random order: split or whole, the result is ToJSONStrict's, or its
// error. Each round draws a few of the pieces, so that many rounds split
// and many are read whole; the test says if either never happened.
func TestToJSONStrictSplitRandomDocuments(t *testing.T) {
	pieces := []string{
		"  - {name: d%d, n: 1}\n",
		"  - name: d%d\n    script: |\n      - not an item\n      echo\n",
		"  - name: d%d\n    keep: |+\n      x\n\n",
		"# d%d: a comment at column 0\n",
		"  # d%d: an indented comment\n",
		"\n  - name: d%d\n\n",
		"  - name: \"d%d\n    quoted over lines\"\n",
		"  - name: 'd%d\n  - looks like an item'\n",
		"  - [d%d,\n  - x]\n",
		"  - &a%d {x: 1}\n",
		"  - *a%d\n",
		"  - name: d%d\n    on: off\n",
		"  -\n    name: d%d\n",
		"  - - d%d\n    - nested\n",
		"  - name: d%d\n  x: out of place\n",
		"deployments: %d\n",
		"other: %d\n",
	}
	const plain = "  - name: d%d\n"
	rng := rand.New(rand.NewPCG(1, 2))
	split, whole := 0, 0
	for round := range 100 {
		drawn := make([]string, 1+rng.IntN(3))
		for i := range drawn {
			drawn[i] = pieces[rng.IntN(len(pieces))]
		}
		var b strings.Builder
		b.WriteString("kind: Project\ndeployments:\n")
		for i := 0; b.Len() < splitMinBytes || i < splitMinItems; i++ {
			p := plain
			if rng.IntN(20) == 0 { // mostly plain items, as projects are
				p = drawn[rng.IntN(len(drawn))]
			}
			fmt.Fprintf(&b, p, i%50)
		}
		doc := []byte(b.String())
		if _, ok := toJSONSplit(doc, 2); ok {
			split++
		} else {
			whole++
		}
		want, wantErr := ToJSONStrict(doc)
		got, err := ToJSONStrictSplit(doc)
		if string(got) != string(want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("round %d: got %.200s, %v; want %.200s, %v\n%s", round, got, err, want, wantErr, doc)
		}
	}
	if split < 20 || whole < 20 {
		t.Errorf("%d documents split, %d read whole: the pieces no longer exercise both", split, whole)
	}
	t.Logf("%d documents split, %d read whole", split, whole)
}
