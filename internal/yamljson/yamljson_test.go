package yamljson

import (
	"strings"
	"testing"
)

func TestToJSONStrictReadsKeysAsWritten(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"no boolean key: as sigs.k8s.io/yaml", "a: 1\nb: [x, z]\n", `{"a":1,"b":["x","z"]}`},
		{"a parameter named n", "parameters: {n: 7}\n", `{"parameters":{"n":7}}`},
		{"keys once read as one boolean twice", "{y: 1, on: 2, off: 3, NO: 4}", `{"NO":4,"off":3,"on":2,"y":1}`},
		{"block and nested", "jobVariables:\n  env:\n    Yes: 1\n    on: {off: x}\n", `{"jobVariables":{"env":{"Yes":1,"on":{"off":"x"}}}}`},
		{"after characters of several bytes on its line", "{é: 1, ñ: {n: 2}, n: 3}", `{"n":3,"é":1,"ñ":{"n":2}}`},
		{"quoted keys stay as they are", "{\"n\": 1, 'y': 2, true: 3}", `{"n":1,"true":3,"y":2}`},
		{"values keep YAML 1.1's booleans", "enabled: yes\nn: no\n", `{"enabled":true,"n":false}`},
		{"a key that only looks alike", "none: 1\nno-op: 2\n", `{"no-op":2,"none":1}`},
		{"a string value that holds a boolean key's JSON", "a: '\"false\": 1'\n", `{"a":"\"false\": 1"}`},
	} {
		got, err := ToJSONStrict([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

// A document that does not parse keeps sigs.k8s.io/yaml's error; a key
// set twice is still refused, named as written.
func TestToJSONStrictErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a: [1, 2\n", "did not find expected ',' or ']'"},
		{"a: 1\na: 2\n", `key "a" already set in map`},
		{"{n: 1, n: 2}", `key "n" already set in map`},
	} {
		if _, err := ToJSONStrict([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one that says %s", tc.in, err, tc.want)
		}
	}
}

func TestUnmarshalReadsKeysAsWritten(t *testing.T) {
	var v map[string]any
	if err := Unmarshal([]byte("n: 7\nflag: on\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v["n"] != float64(7) || v["flag"] != true || len(v) != 2 {
		t.Errorf("got %v, want n 7 and flag true", v)
	}
}

// Ten thousand lines: the keys are found by line and column however far
// into the document they are.
func TestQuoteKeysFarIntoADocument(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 10000; i++ {
		b.WriteString("- {name: \"é\", n: 1}\n")
	}
	js, err := ToJSONStrict([]byte(b.String()))
	if err != nil || strings.Count(string(js), `"n":1`) != 10000 {
		t.Errorf("%d keys n of 10000, %v", strings.Count(string(js), `"n":1`), err)
	}
}
