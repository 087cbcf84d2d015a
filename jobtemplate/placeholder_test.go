package jobtemplate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// render runs the templating engine on one JSON value, the way Prefect's
// apply_values(template, values) does.
func render(t *testing.T, tmpl any, vars map[string]any) (any, bool) {
	t.Helper()
	var uses []placeholderUse
	return compileNode(tmpl, "t", &uses).render(vars)
}

func TestApplyValues(t *testing.T) {
	vars := map[string]any{
		"s":      "text",
		"empty":  "",
		"n":      float64(128),
		"f":      1.5,
		"big":    float64(1e21),
		"i":      7,
		"b":      true,
		"obj":    map[string]any{"b": float64(1), "a": "x", "nested": map[string]any{"k": "deep"}},
		"list":   []any{"zero", map[string]any{"name": "one"}, float64(2)},
		"null":   nil,
		"my-var": "hyphen",
		"ünï":    "unicode",
	}
	tests := []struct {
		name   string
		tmpl   any
		want   any
		wantOK bool
	}{
		// A string that is exactly one placeholder takes the value with its type.
		{"exact string", "{{ s }}", "text", true},
		{"exact empty string is kept", "{{ empty }}", "", true},
		{"exact number", "{{ n }}", float64(128), true},
		{"exact int", "{{ i }}", 7, true},
		{"exact bool", "{{ b }}", true, true},
		{"exact object", "{{ obj }}", map[string]any{"b": float64(1), "a": "x", "nested": map[string]any{"k": "deep"}}, true},
		{"exact list", "{{ list }}", []any{"zero", map[string]any{"name": "one"}, float64(2)}, true},
		// Unset (or null) means NotSet: the holder drops it.
		{"exact unset", "{{ missing }}", nil, false},
		{"exact null", "{{ null }}", nil, false},
		{"unset removes the map key", map[string]any{"keep": "{{ s }}", "drop": "{{ missing }}", "nul": "{{ null }}"}, map[string]any{"keep": "text"}, true},
		{"unset removes the list item", []any{"{{ s }}", "{{ missing }}", "lit", "{{ null }}", "{{ n }}"}, []any{"text", "lit", float64(128)}, true},
		{"nested removal leaves an empty map", map[string]any{"limits": map[string]any{"cpu": "{{ missing }}"}}, map[string]any{"limits": map[string]any{}}, true},
		// Inside a longer string a placeholder becomes text, or "" when unset.
		{"in string", "{{ n }}Mi", "128Mi", true},
		{"in string unset", "{{ missing }}-", "-", true},
		{"in string null", "a{{ null }}b", "ab", true},
		{"two placeholders", "{{ s }}{{ n }}", "text128", true},
		{"same placeholder twice", "{{ s }}/{{s}}", "text/text", true},
		{"in string float", "x={{ f }}", "x=1.5", true},
		{"in string large float", "x={{ big }}", "x=1e+21", true},
		{"in string int", "x={{ i }}", "x=7", true},
		{"in string bool", "x={{ b }}", "x=true", true},
		{"in string object is compact sorted JSON", "x={{ obj }}", `x={"a":"x","b":1,"nested":{"k":"deep"}}`, true},
		{"in string list", "x={{ list }}", `x=["zero",{"name":"one"},2]`, true},
		{"leading space is text, not exact", " {{ n }}", " 128", true},
		// Dotted paths and list indexes (Prefect's get_from_dict).
		{"dotted", "{{ obj.a }}", "x", true},
		{"dotted deep", "{{ obj.nested.k }}", "deep", true},
		{"dotted keeps type", "{{ obj.b }}", float64(1), true},
		{"dotted missing", "{{ obj.zz }}", nil, false},
		{"dotted through scalar", "{{ s.x }}", nil, false},
		{"index brackets", "{{ list[0] }}", "zero", true},
		{"index dotted", "{{ list.2 }}", float64(2), true},
		{"index then key", "{{ list[1].name }}", "one", true},
		{"negative index like Python", "{{ list[-1] }}", float64(2), true},
		{"index out of range", "{{ list[9] }}", nil, false},
		{"index on a map", "{{ obj[0] }}", nil, false},
		{"dotted in string", "name-{{ obj.nested.k }}", "name-deep", true},
		// Whitespace variants.
		{"no spaces", "{{s}}", "text", true},
		{"many spaces", "{{     s    }}", "text", true},
		{"tabs and newlines", "{{\ts\n}}", "text", true},
		{"hyphenated name", "{{ my-var }}", "hyphen", true},
		{"unicode name", "{{ ünï }}", "unicode", true},
		// Not placeholders: left alone.
		{"empty braces", "{{ }}", "{{ }}", true},
		{"single braces", "{ s }", "{ s }", true},
		{"two words", "{{ s t }}", "{{ s t }}", true},
		{"jinja filter", "{{ s | upper }}", "{{ s | upper }}", true},
		// Scalars and keys are not templated.
		{"number literal", float64(3), float64(3), true},
		{"null literal", nil, nil, true},
		{"keys are not templated", map[string]any{"{{ s }}": "v"}, map[string]any{"{{ s }}": "v"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := render(t, tc.tmpl, vars)
			if ok != tc.wantOK || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("render(%#v) = %#v, %v; want %#v, %v", tc.tmpl, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// The value inserted for an exact placeholder is a copy: changing the output
// never reaches the variables (which may be a Template's defaults).
func TestApplyValuesCopies(t *testing.T) {
	vars := map[string]any{"obj": map[string]any{"a": []any{"x"}}}
	got, _ := render(t, map[string]any{"o": "{{ obj }}"}, vars)
	got.(map[string]any)["o"].(map[string]any)["a"].([]any)[0] = "changed"
	if vars["obj"].(map[string]any)["a"].([]any)[0] != "x" {
		t.Fatal("rendering aliased the variables")
	}
}

func TestPlaceholderUses(t *testing.T) {
	var uses []placeholderUse
	tmpl := map[string]any{
		"b": []any{"{{ x }}", map[string]any{"example.com/k": "a{{ y.z }}b{{ w[0] }}"}},
		"a": "{{x}}",
	}
	compileNode(tmpl, "root", &uses)
	var got []string
	for _, u := range uses {
		got = append(got, u.at+" "+u.p.full+" "+u.p.variable())
	}
	want := []string{
		"root.a {{x}} x",
		"root.b[0] {{ x }} x",
		`root.b[1]["example.com/k"] {{ y.z }} y`,
		`root.b[1]["example.com/k"] {{ w[0] }} w`,
	}
	if !reflect.DeepEqual(got, want) {
		b, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("uses = %s", b)
	}
}

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []any
		err  bool
	}{
		{"python -m flows.run", []any{"python", "-m", "flows.run"}, false},
		{"  a \t b\n", []any{"a", "b"}, false},
		{`echo 'a b' "c d" e\ f`, []any{"echo", "a b", "c d", "e f"}, false},
		{`say "q\"uote" 'it''s'`, []any{"say", `q"uote`, "its"}, false},
		{`"back\\slash" "keep\n"`, []any{`back\slash`, `keep\n`}, false},
		{`a""b ''`, []any{"ab", ""}, false},
		{"", nil, false},
		{`'open`, nil, true},
		{`"open`, nil, true},
		{`trailing\`, nil, true},
	}
	for _, tc := range tests {
		got, err := shellSplit(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shellSplit(%q) = %#v, %v; want %#v, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSlugLabels(t *testing.T) {
	tests := []struct{ in, key, value string }{
		{"kubectl-flows.dev/run", "kubectl-flows.dev/run", "kubectl-flows.dev-run"},
		{"team", "team", "team"},
		{"a--b", "a--b", "a--b"}, // valid: left untouched
		{"Data Platform!", "Data-Platform", "Data-Platform"},
		{"-lead.", "lead", "lead"},
		{"ex ample.com/my key", "ex-ample.com/my-key", "ex-ample.com-my-key"},
		{"héllo", "h-llo", "h-llo"},
		{"!!!", "!!!", "!!!"}, // nothing left: keep the original so the API server reports it
	}
	for _, tc := range tests {
		if got := slugLabelKey(tc.in); got != tc.key {
			t.Errorf("slugLabelKey(%q) = %q, want %q", tc.in, got, tc.key)
		}
		if got := slugLabelValue(tc.in); got != tc.value {
			t.Errorf("slugLabelValue(%q) = %q, want %q", tc.in, got, tc.value)
		}
	}
	long := ""
	for range 70 {
		long += "x"
	}
	if got := slugLabelValue(long); len(got) != 63 {
		t.Errorf("long value not cut to 63: %d", len(got))
	}
}

// The hand-written label checks agree with Kubernetes' validation.
func TestLabelChecksMatchKubernetes(t *testing.T) {
	for _, s := range []string{
		"", "a", "A", "a-b", "a_b", "a.b", "-a", "a-", "_a", "a_", ".a", "a.",
		"example.com/name", "Example.com/name", "example.com/", "/name", "ex_ample.com/n", "a/b/c",
		"example..com/n", "-example.com/n", "example-.com/n", "kubectl-flows.dev/run",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 253) + "/n", strings.Repeat("a", 254) + "/n",
		"héllo", "a b", "a:b",
	} {
		if got, want := validLabelKey(s), len(validation.IsQualifiedName(s)) == 0; got != want {
			t.Errorf("validLabelKey(%q) = %v, Kubernetes says %v", s, got, want)
		}
		if got, want := validLabelValue(s), len(validation.IsValidLabelValue(s)) == 0; got != want {
			t.Errorf("validLabelValue(%q) = %v, Kubernetes says %v", s, got, want)
		}
	}
}
