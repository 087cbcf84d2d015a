package yamlcodec

import (
	"math/rand"
	"strings"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
)

// emit must write what yaml.v2 writes wherever it does not give up:
// random documents of the shapes render and the reconciler encode, with
// keys that test yaml.v2's order and strings that test its choice of
// style, its indicators and its breaks at the 80th column, at every depth.
func TestEmitMatchesYAMLv2(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	keys := []string{
		"a", "b", "A", "Z", "_x", "x1", "x2", "x10", "x01", "x001", "x100", "a0", "a00", "a10b", "a1b", "10", "9", "1a",
		"apiVersion", "kind", "metadata", "spec", "é", "ü1", "app.kubernetes.io/name", "run.yaml", "-", "a b", "a: b",
		"true", "y", "1.5", "", "~", "#c", "'q'", "\"dq\"", "k\nl", strings.Repeat("long", 33), "日本", "x٣", "x3",
	}
	words := []string{
		"a", "word", "hello world", "x: y", "x:y", "x:", "a #b", "a#b", "- item", "-x", "# comment", "|", ">", "'", "\"",
		"\\", "{}", "[a]", "a,b", "---", "...", "é", "🚀", "\t", " lead", "trail ", "1", "1.5", "-3", "0x1F", "1e3",
		"0755", "1_000", "1:20", "2026-12-04", "2026-12-04T19:05:34Z", "true", "True", "yes", "on", "Off", "null", "~",
		"nan", ".nan", ".inf", "<<", "100m", "64Mi", "python", "registry.example.com/flows:abc", "@at", "`tick`", "%p",
		"?q", "!bang", "&anchor", "*alias", "a  b", strings.Repeat("long words ", 9), strings.Repeat("x", 90),
		"\u2028", "\u00a0", "0", "7", "00", "08", "0123", "42", "999999999999999999", "12345678901234567890123",
	}
	str := func() string {
		var b strings.Builder
		for n := 1 + rng.Intn(3); n > 0; n-- {
			if b.Len() > 0 && rng.Intn(2) == 0 {
				b.WriteString(" ")
			}
			b.WriteString(words[rng.Intn(len(words))])
		}
		s := b.String()
		switch rng.Intn(12) {
		case 0:
			s += "\n" + str2(rng, words) + "\n"
		case 1:
			s += "\n" + str2(rng, words)
		case 2:
			s = ""
		}
		return s
	}
	var value func(depth int) any
	value = func(depth int) any {
		n := rng.Intn(10)
		if depth > 4 {
			n = 6 + rng.Intn(4)
		}
		switch n {
		case 0, 1:
			m := map[string]any{}
			for range rng.Intn(5) {
				m[keys[rng.Intn(len(keys))]] = value(depth + 1)
			}
			return m
		case 2, 3:
			var s []any
			for range rng.Intn(4) {
				s = append(s, value(depth+1))
			}
			if s == nil {
				s = []any{}
			}
			return s
		case 4:
			if rng.Intn(3) == 0 {
				return []float64{0.5, -1.25, 1e21, 1e-7, 3.14159, 0.1}[rng.Intn(6)]
			}
			return int64(rng.Intn(2000) - 1000)
		case 5:
			return rng.Intn(2) == 0
		case 6:
			return nil
		default:
			return str()
		}
	}
	emitted := 0
	for i := 0; i < 20000; i++ {
		v := value(0)
		want, err := yamlv2.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := emit(v)
		if !ok {
			continue
		}
		emitted++
		if string(got) != string(want) {
			t.Fatalf("case %d: emit wrote\n%s\nyaml.v2 wrote\n%s", i, got, want)
		}
	}
	if emitted < 10000 {
		t.Errorf("emit wrote only %d of 20000 documents; the test no longer tests it", emitted)
	}
	t.Logf("emit wrote %d of 20000 documents", emitted)
}

// Strings of digits of every length, to past where an integer overflows and
// a float does, take the form yaml.v2 gives them.
func TestDigitsTakeYAMLv2Form(t *testing.T) {
	for n := 1; n <= 400; n++ {
		for _, first := range []string{"0", "1", "9"} {
			s := first + strings.Repeat("8", n-1)
			f := askYAML(s)
			got, ok := scalarForm(s)
			if got != f.form || ok != f.ok {
				t.Fatalf("%d digits %q: scalarForm gave %q, %v; yaml.v2 %q, %v", n, s, got, ok, f.form, f.ok)
			}
		}
	}
}

func str2(rng *rand.Rand, words []string) string {
	var parts []string
	for range 1 + rng.Intn(3) {
		parts = append(parts, words[rng.Intn(len(words))])
	}
	return strings.Join(parts, "\n")
}

// Keys sort as yaml.v2 sorts them, digits and all. (Keys outside ASCII
// are left to yaml.v2.)
func TestKeyOrderMatchesYAMLv2(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	alphabet := []rune("ab0019Z_.")
	emitted := 0
	for i := 0; i < 20000; i++ {
		m := map[string]any{}
		for range 2 + rng.Intn(8) {
			var k []rune
			for range 1 + rng.Intn(5) {
				k = append(k, alphabet[rng.Intn(len(alphabet))])
			}
			m[string(k)] = int64(1)
		}
		want, err := yamlv2.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := emit(m)
		if !ok {
			continue
		}
		emitted++
		if string(got) != string(want) {
			t.Fatalf("emit wrote\n%s\nyaml.v2 wrote\n%s", got, want)
		}
	}
	if emitted < 5000 {
		t.Errorf("emit wrote only %d of 20000 maps; the test no longer tests it", emitted)
	}
}
