package yamlcodec

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// Long multi-line strings are written around yaml.v2 (writeLiterals); the
// bytes must stay sigs.k8s.io/yaml's whatever the strings hold and wherever
// they stand. Strings are drawn from pieces that change yaml.v2's choice of
// style or block indicators, at lengths on both sides of literalMin.
func TestLongStringsMatchSigsYAML(t *testing.T) {
	pieces := []string{
		"a", "word ", "x: y", "- item", "# comment", "|", ">", "'", "\"", "\\", "{}", "---", "...",
		"\n", "\n\n", " \n", "\t", "\r\n", "\r", "é", "🚀", "\u2028", "  indented",
		placeholderPrefix, placeholder(0), placeholder(1), strings.Repeat("long line ", 12),
	}
	rng := rand.New(rand.NewSource(1))
	var ascii []string
	for _, p := range pieces {
		if plainLiteral("x"+p+"x\n") && !strings.HasSuffix(p, " ") {
			ascii = append(ascii, p)
		}
	}
	ascii = append(ascii, "\n", "\n", "\n")
	str := func() string {
		clean := rng.Intn(2) == 0
		var b strings.Builder
		target := literalMin - 40 + rng.Intn(120)
		if rng.Intn(4) == 0 {
			target = rng.Intn(3 * literalMin)
		}
		for b.Len() < target {
			// Half the strings are printable ASCII, most of which take
			// the fast path; the other half hold anything.
			if clean {
				b.WriteString(ascii[rng.Intn(len(ascii))])
			} else {
				b.WriteString(pieces[rng.Intn(len(pieces))])
			}
		}
		s := b.String()
		switch rng.Intn(6) { // how it ends matters most
		case 0, 4, 5:
			s = strings.TrimRight(s, "\n") + "\n"
		case 1:
			s += "\n\n"
		case 2:
			s = strings.TrimRight(s, "\n")
		}
		return s
	}
	fast := 0
	for i := 0; i < 3000; i++ {
		s1, s2, s3 := str(), str(), str()
		v := map[string]any{
			"data":  map[string]any{"a.yaml": s1, "b.yaml": s2},
			"list":  []any{s3, map[string]any{"args": []any{"python", s1}}, int64(3)},
			"kind":  "ConfigMap",
			"short": "one\ntwo\n",
		}
		if i%10 == 0 {
			v[s2] = "a long key" // keys are never blocks
		}
		if i%7 == 0 {
			v["user"] = "a\n" + placeholder(0) // looks like a placeholder line
		}
		if !matchesSigsYAML(t, fmt.Sprintf("case %d", i), v) {
			t.FailNow()
		}
		var blocks []string
		withPlaceholders(v, &blocks)
		if len(blocks) > 0 {
			fast++
		}
	}
	if fast < 1000 {
		t.Errorf("only %d of 3000 cases took the fast path; the test no longer tests it", fast)
	}
}

// A value is never changed by Marshal, placeholders or not.
func TestMarshalLeavesValueAlone(t *testing.T) {
	long := strings.Repeat("line\n", literalMin)
	v := map[string]any{"a": long, "b": []any{long, map[string]any{"c": long}}}
	if _, err := Marshal(v); err != nil {
		t.Fatal(err)
	}
	if v["a"] != long || v["b"].([]any)[0] != long || v["b"].([]any)[1].(map[string]any)["c"] != long {
		t.Fatal("Marshal changed its argument")
	}
}
