package yamlcodec

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// Long multi-line strings are most of what render writes, as blocks
// emit writes itself; the bytes must stay sigs.k8s.io/yaml's whatever the
// strings hold and wherever they stand. Strings are drawn from pieces that
// change yaml.v2's choice of style or block indicators.
func TestLongStringsMatchSigsYAML(t *testing.T) {
	pieces := []string{
		"a", "word ", "x: y", "- item", "# comment", "|", ">", "'", "\"", "\\", "{}", "---", "...",
		"\n", "\n\n", " \n", "\t", "\r\n", "\r", "é", "🚀", "\u2028", "  indented",
		strings.Repeat("long line ", 12),
	}
	rng := rand.New(rand.NewSource(1))
	var ascii []string
	for _, p := range pieces {
		if plainLiteral("x"+p+"x\n") && !strings.HasSuffix(p, " ") {
			ascii = append(ascii, p)
		}
	}
	ascii = append(ascii, "\n", "\n", "\n")
	str := func(clean bool) string {
		var b strings.Builder
		if clean {
			b.WriteString("x") // a leading space or break takes an indicator
		}
		target := 216 + rng.Intn(120)
		if rng.Intn(4) == 0 {
			target = rng.Intn(768)
		}
		for b.Len() < target {
			// Half the documents hold only printable ASCII, most of
			// which emit writes; the other half hold anything.
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
		clean := i%2 == 0
		s1, s2, s3 := str(clean), str(clean), str(clean)
		v := map[string]any{
			"data":  map[string]any{"a.yaml": s1, "b.yaml": s2},
			"list":  []any{s3, map[string]any{"args": []any{"python", s1}}, int64(3)},
			"kind":  "ConfigMap",
			"short": "one\ntwo\n",
		}
		if i%10 == 0 {
			v[s2] = "a long key" // keys are never blocks
		}
		if !matchesSigsYAML(t, fmt.Sprintf("case %d", i), v) {
			t.FailNow()
		}
		if _, ok := emit(v); ok {
			fast++
		}
	}
	if fast < 500 {
		t.Errorf("emit wrote only %d of 3000 cases; the test no longer tests it", fast)
	}
	if testing.Verbose() {
		t.Logf("emit wrote %d of 3000 cases", fast)
	}
}

// A value is never changed by Marshal.
func TestMarshalLeavesValueAlone(t *testing.T) {
	long := strings.Repeat("line\n", 256)
	v := map[string]any{"a": long, "b": []any{long, map[string]any{"c": long}}}
	if _, err := Marshal(v); err != nil {
		t.Fatal(err)
	}
	if v["a"] != long || v["b"].([]any)[0] != long || v["b"].([]any)[1].(map[string]any)["c"] != long {
		t.Fatal("Marshal changed its argument")
	}
}
