package yamlcodec

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	yamlv2 "go.yaml.in/yaml/v2"
)

// yaml.v2 emits a document as a queue of events that only grows until the
// document ends (40% of the bytes a render allocates) and spends about a
// microsecond on each. The values render and the reconciler encode are
// decoded JSON (maps, lists, strings, numbers, booleans, null), whose
// layout in yaml.v2's block style is fixed: emit writes those directly.
// It holds no quoting rules of its own: a string is written plain where
// its bytes alone show yaml.v2 would (plainString), and otherwise in the
// form yaml.v2 gives it as a document of its own (askYAML), taken only when
// that is the string itself or the string in quotes. What it cannot be
// sure to write as yaml.v2 would (a string yaml.v2 would fold at the 80th
// column, escape or write as a block with indicators, a key it would not
// write as a simple key, keys its order does not order strictly) makes it
// give up, and Marshal hands the whole value to yaml.v2. The tests compare
// the two on random documents in every run of the suite, so a yaml.v2 that
// wrote otherwise would fail them.

// bestWidth is the column past which yaml.v2 breaks a scalar at a space.
const bestWidth = 80

// maxSimpleKey is the longest key yaml.v2 writes as a simple key.
const maxSimpleKey = 128

// emit appends v as a YAML document in yaml.v2's style, or reports false.
func emit(v any) ([]byte, bool) {
	e := emitter{b: make([]byte, 0, sizeHint(v, 0))}
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return []byte("{}\n"), true
		}
		if !e.mapping(t, 0, false) {
			return nil, false
		}
	case []any:
		if len(t) == 0 {
			return []byte("[]\n"), true
		}
		if !e.sequence(t, 0, false) {
			return nil, false
		}
	default:
		if !e.scalar(v, 0) {
			return nil, false
		}
		e.b = append(e.b, '\n')
	}
	return e.b, true
}

// sizeHint is about the length of v written at indent, a little more:
// the documents render writes hold each other as strings, and a buffer
// grown by doubling would allocate each of them twice over.
func sizeHint(v any, indent int) int {
	switch t := v.(type) {
	case map[string]any:
		n := 4
		for k, e := range t {
			n += indent + len(k) + 2 + sizeHint(e, indent+2)
		}
		return n
	case []any:
		n := 4
		for _, e := range t {
			n += indent + 2 + sizeHint(e, indent+2)
		}
		return n
	case string:
		return len(t) + 4 + (indent+2)*strings.Count(t, "\n")
	}
	return 24
}

type emitter struct {
	b []byte
}

func (e *emitter) indent(n int) {
	for range n {
		e.b = append(e.b, ' ')
	}
}

// mapping writes a non-empty map's entries, each key at column indent,
// the first one where the line stands when inline (after a "- ").
func (e *emitter) mapping(m map[string]any, indent int, inline bool) bool {
	keys, ok := sortedKeys(m)
	if !ok {
		return false
	}
	for i, k := range keys {
		if i > 0 || !inline {
			e.indent(indent)
		}
		if len(k) > maxSimpleKey {
			return false
		}
		form, ok := scalarForm(k)
		if !ok {
			return false
		}
		e.b = append(e.b, form...)
		e.b = append(e.b, ':')
		if !e.value(m[k], indent, indent+len(form)+2, false) {
			return false
		}
	}
	return true
}

// sequence writes a non-empty list's items, each dash at column indent.
func (e *emitter) sequence(s []any, indent int, inline bool) bool {
	for i, item := range s {
		if i > 0 || !inline {
			e.indent(indent)
		}
		e.b = append(e.b, '-')
		if !e.value(item, indent, indent+2, true) {
			return false
		}
	}
	return true
}

// value writes what follows a key's colon or an item's dash: the rest of
// the line and, for a container or a block, the lines below it. indent
// is the column of the key or the dash; col is where a scalar would start.
func (e *emitter) value(v any, indent, col int, item bool) bool {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			e.b = append(e.b, " {}\n"...)
			return true
		}
		if item {
			e.b = append(e.b, ' ')
			return e.mapping(t, indent+2, true)
		}
		e.b = append(e.b, '\n')
		return e.mapping(t, indent+2, false)
	case []any:
		if len(t) == 0 {
			e.b = append(e.b, " []\n"...)
			return true
		}
		if item {
			e.b = append(e.b, ' ')
			return e.sequence(t, indent+2, true)
		}
		// yaml.v2 does not indent a list under a key.
		e.b = append(e.b, '\n')
		return e.sequence(t, indent, false)
	case string:
		if header, ok := literalHeader(t); ok {
			e.b = append(e.b, ' ')
			e.b = append(e.b, header...)
			e.b = append(e.b, '\n')
			e.b = appendIndented(e.b, t, indent+2)
			return true
		}
	}
	e.b = append(e.b, ' ')
	if !e.scalar(v, col) {
		return false
	}
	e.b = append(e.b, '\n')
	return true
}

// scalar writes a one-line scalar starting at column col.
func (e *emitter) scalar(v any, col int) bool {
	switch t := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case bool:
		e.b = strconv.AppendBool(e.b, t)
	case int64:
		e.b = strconv.AppendInt(e.b, t, 10)
	case int:
		e.b = strconv.AppendInt(e.b, int64(t), 10)
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return false
		}
		e.b = strconv.AppendFloat(e.b, t, 'g', -1, 64)
	case string:
		form, ok := scalarForm(t)
		// A scalar with a space may be broken at one past bestWidth.
		if !ok || col+len(form) > bestWidth && strings.IndexByte(form, ' ') >= 0 {
			return false
		}
		e.b = append(e.b, form...)
	default:
		return false
	}
	return true
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// literalHeader is the header yaml.v2 writes before s as a literal block
// when s is a plainLiteral or one without its final line break ("|-"),
// the only blocks emit writes; false for any other string.
func literalHeader(s string) (string, bool) {
	n := len(s)
	if n < 2 {
		return "", false
	}
	if s[n-1] != '\n' {
		if s[n-1] == ' ' || strings.IndexByte(s, '\n') < 0 || !plainLiteral(s+"\n") {
			return "", false
		}
		return "|-", true
	}
	if !plainLiteral(s) {
		return "", false
	}
	return "|", true
}

// scalarForm is how yaml.v2 writes s on one line, where it does not break
// it: s itself (plain) or s in quotes without escapes; false for anything
// else (a block, escapes, a line break). Most strings are known plain by
// their bytes (plainString); yaml.v2 is asked of the others, once each.
func scalarForm(s string) (string, bool) {
	if plainString(s) {
		return s, true
	}
	if quotedNumber(s) {
		return `"` + s + `"`, true
	}
	forms.mu.RLock()
	f, seen := forms.m[s]
	forms.mu.RUnlock()
	if seen {
		return f.form, f.ok
	}
	f = askYAML(s)
	forms.mu.Lock()
	if len(forms.m) >= maxForms {
		clear(forms.m)
	}
	forms.m[s] = f
	forms.mu.Unlock()
	return f.form, f.ok
}

type form struct {
	form string
	ok   bool
}

// forms holds the forms yaml.v2 gave, for strings that recur (quantities,
// numbers as strings); emptied when full, since the reconciler encodes
// statuses, each with its own timestamps, all its life.
var forms = struct {
	mu sync.RWMutex
	m  map[string]form
}{m: map[string]form{}}

const maxForms = 1024

// askYAML is yaml.v2's form of s as a document of its own. Its choice
// among plain, single and double quotes depends only on s (in block
// context, which is all emit writes), but for breaks past bestWidth,
// which scalar checks where s stands.
func askYAML(s string) form {
	out, err := yamlv2.Marshal(s)
	if err != nil || len(out) == 0 || out[len(out)-1] != '\n' {
		return form{}
	}
	got := string(out[:len(out)-1])
	switch {
	case got == s && strings.IndexByte(s, '\n') < 0,
		len(got) == len(s)+2 && got[1:len(got)-1] == s && (got[0] == '"' || got[0] == '\'') && got[0] == got[len(got)-1]:
		return form{got, true}
	}
	return form{}
}

// quotedNumber reports whether s is digits that yaml.v2 surely reads as an
// integer, which it writes in double quotes to keep them a string: an
// environment variable's value, a port or an index, different in every
// deployment, so not worth a place among forms. Past 18 digits the
// integer may overflow and yaml.v2's reading depends on the value.
func quotedNumber(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return false
		}
	}
	return true
}

// plainString reports whether yaml.v2 surely writes s plain: it starts
// with a letter and is not one of the words YAML reads as a boolean or
// null (then it is a string to YAML), holds only printable ASCII, ends in
// neither a space nor a colon, and has no ": " or " #" (indicators).
func plainString(s string) bool {
	if s == "" {
		return false
	}
	if !letter(s[0]) {
		return false
	}
	if len(s) <= 5 && yamlWords[s] {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e:
			return false
		case c == ' ':
			if i == len(s)-1 || s[i+1] == '#' {
				return false
			}
		case c == ':':
			if i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		}
	}
	return true
}

// yamlWords are the words starting with a letter that YAML 1.1, as
// yaml.v2 reads it, takes for a boolean or null.
var yamlWords = map[string]bool{}

func init() {
	for _, w := range []string{"y", "yes", "true", "on", "n", "no", "false", "off", "null"} {
		yamlWords[w] = true
		yamlWords[strings.ToUpper(w[:1])+w[1:]] = true
		yamlWords[strings.ToUpper(w)] = true
	}
}

// maxNumberedKeys bounds the maps with digits in their keys whose order
// sortedKeys checks pair by pair.
const maxNumberedKeys = 32

// sortedKeys is m's keys in yaml.v2's order, false where that order is not
// known to be one. yaml.v2 compares keys by a rule (keyLess) that is not
// transitive where numbers and letters meet ("9b" < "19" < "90" < "9b",
// and keys in other scripts) and sorts by it, so its order then depends
// on the order Go ranges over the map. Among keys without digits the rule
// is an order of their bytes; keys with digits are sorted and then checked
// pair by pair: if every pair is in order, the rule is an order on them and
// any sort gives this one.
func sortedKeys(m map[string]any) ([]string, bool) {
	keys := make([]string, 0, len(m))
	numbered := false
	for k := range m {
		if !ascii(k) {
			return nil, false
		}
		numbered = numbered || strings.ContainsAny(k, "0123456789")
		keys = append(keys, k)
	}
	slices.SortFunc(keys, keyCompare)
	if !numbered {
		return keys, true
	}
	if len(keys) > maxNumberedKeys {
		return nil, false
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if !keyLess(keys[i], keys[j]) || keyLess(keys[j], keys[i]) {
				return nil, false
			}
		}
	}
	return keys, true
}

// keyCompare orders ASCII map keys as yaml.v2 does: byte by byte, a
// letter after any other byte, and at the first difference that is not
// between letters, the runs of digits from there compared as numbers (then
// the shorter run first).
func keyCompare(a, b string) int {
	if a == b {
		return 0
	}
	if keyLess(a, b) {
		return -1
	}
	return 1
}

func keyLess(a, b string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		al, bl := letter(a[i]), letter(b[i])
		if al && bl {
			return a[i] < b[i]
		}
		if al || bl {
			return bl
		}
		// A zero continuing a number that has a nonzero digit before it
		// counts as a digit of that number, not as a leading zero.
		var an, bn int64
		if a[i] == '0' || b[i] == '0' {
			for j := i - 1; j >= 0 && digit(a[j]); j-- {
				if a[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		ai, bi := i, i
		for ; ai < len(a) && digit(a[ai]); ai++ {
			an = an*10 + int64(a[ai]-'0')
		}
		for ; bi < len(b) && digit(b[bi]); bi++ {
			bn = bn*10 + int64(b[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return a[i] < b[i]
	}
	return len(a) < len(b)
}

func letter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func digit(c byte) bool { return '0' <= c && c <= '9' }

// plainLiteral reports whether yaml.v2 writes s as a literal block ("|")
// of s's own lines, each indented, empty ones left empty: s ends in
// exactly one line break (no chomping indicator), does not start with a
// space or a break (no indentation indicator), and holds only printable
// ASCII with no space before a break (which would make yaml.v2 quote it).
func plainLiteral(s string) bool {
	n := len(s)
	if n < 2 || s[n-1] != '\n' || s[n-2] == '\n' || s[0] == ' ' || s[0] == '\n' {
		return false
	}
	for i := 0; i < n; i++ {
		switch c := s[i]; {
		case c == '\n':
			if s[i-1] == ' ' {
				return false
			}
		case c < 0x20 || c > 0x7e:
			return false
		}
	}
	return true
}

// appendIndented appends s's lines, each but the empty ones behind indent
// spaces. s ends in a line break (plainLiteral).
func appendIndented(b []byte, s string, indent int) []byte {
	for len(s) > 0 {
		line, rest, _ := strings.Cut(s, "\n")
		if line != "" {
			for range indent {
				b = append(b, ' ')
			}
			b = append(b, line...)
		}
		b = append(b, '\n')
		s = rest
	}
	return b
}
