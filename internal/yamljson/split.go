package yamljson

import (
	"bytes"
	"encoding/json"
	"runtime"

	"github.com/kubectl-flows/kubectl-flows/internal/parallel"
)

// A project of a thousand deployments is 400 KB of YAML, which yaml.v2
// reads at about 5 MB a second on one core: most of the project's load.
// Its deployments are one block sequence under a top-level key, whose
// items stand alone, so they are read on every core, a run of items at a
// time, and put back where they stood.
const (
	// splitMinBytes is the smallest document worth splitting: below it
	// the goroutines cost more than they save.
	splitMinBytes = 64 << 10
	// splitMinItems is the fewest items a sequence needs to be split.
	splitMinItems = 32
)

// ToJSONStrictSplit is ToJSONStrict for a project file. The longest block
// sequence under a top-level key is read a run of items at a time on
// every core, and the rest of the document on its own; the result is
// ToJSONStrict's, byte for byte. Whatever a piece cannot show alone makes
// it read the document whole: an alias to an anchor in another piece, a
// quoted string or flow collection across an item's start, a document
// marker or directive, a line indented with a tab, or any error (which
// is then reported as ToJSONStrict reports it, with its whole-document
// line numbers).
func ToJSONStrictSplit(src []byte) ([]byte, error) {
	if js, ok := toJSONSplit(src, runtime.GOMAXPROCS(0)); ok {
		return js, nil
	}
	return ToJSONStrict(src)
}

// toJSONSplit is the split reading, in pieces for workers; false when
// the document is not one it can read so.
func toJSONSplit(src []byte, workers int) ([]byte, bool) {
	if workers < 2 || len(src) < splitMinBytes {
		return nil, false
	}
	seq, ok := longestSequence(src)
	if !ok || len(seq.items) < splitMinItems {
		return nil, false
	}
	// Four pieces a worker, so that one slow piece does not hold the
	// others' workers idle.
	pieces := min(len(seq.items), 4*workers)
	bounds := make([]int, pieces+1)
	for i := range pieces {
		bounds[i] = seq.items[i*len(seq.items)/pieces]
	}
	bounds[pieces] = seq.end
	skeleton := make([]byte, 0, len(src)-(seq.end-seq.start))
	skeleton = append(append(skeleton, src[:seq.start]...), src[seq.end:]...)
	// A piece that does not parse leaves its part nil, and the document
	// is read whole.
	parts := make([][]byte, pieces+1)
	parallel.Each(pieces+1, func(i int) {
		if i == pieces {
			parts[i], _ = ToJSONStrict(skeleton)
		} else {
			parts[i], _ = ToJSONStrict(src[bounds[i]:bounds[i+1]])
		}
	})
	items := make([]byte, 0, len(src))
	items = append(items, '[')
	for i, p := range parts[:pieces] {
		if len(p) < 3 || p[0] != '[' || p[len(p)-1] != ']' {
			return nil, false
		}
		if i > 0 {
			items = append(items, ',')
		}
		items = append(items, p[1:len(p)-1]...)
	}
	items = append(items, ']')
	return assemble(parts[pieces], seq.key, items)
}

// assemble puts items in the document top's JSON object where key stands
// as null. json.Marshal writes the object as it writes any map: keys
// sorted, each value as it was.
func assemble(top []byte, key string, items []byte) ([]byte, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(top, &fields) != nil || string(fields[key]) != "null" {
		return nil, false
	}
	fields[key] = items
	out, err := json.Marshal(fields)
	return out, err == nil
}

// sequence is a block sequence under a top-level key: the lines from
// start to end, each item starting at an offset of items.
type sequence struct {
	key        string
	start, end int
	items      []int
}

// longestSequence finds the top-level key whose value is the block
// sequence of most items. It reads lines, not YAML: a line at column 0
// that is neither blank, a comment nor an item is a top-level key; the
// key's value is a block sequence when the key's line holds nothing after
// the colon but a comment, and the first line below it that is not blank
// or a comment starts an item ("- ") at some indentation; every other line
// of the value must then be indented deeper than that, or start an item
// at it. False for a document it cannot read so.
func longestSequence(src []byte) (sequence, bool) {
	var best, cur sequence
	inValue, indent, first := false, -1, true
	closeValue := func(end int) {
		if inValue && len(cur.items) > len(best.items) {
			cur.end = end
			best = cur
		}
		inValue, indent, cur = false, -1, sequence{}
	}
	for off, end := 0, 0; off < len(src); off = end {
		end = len(src)
		if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
			end = off + i + 1
		}
		text := bytes.TrimSuffix(src[off:end], []byte("\n"))
		body := bytes.TrimLeft(text, " ")
		depth := len(text) - len(body)
		switch {
		case bytes.IndexByte(text, '\r') >= 0, len(body) > 0 && body[0] == '\t':
			return sequence{}, false // CR line ends, tabs as indentation
		case len(bytes.TrimRight(body, " \t")) == 0, body[0] == '#':
			continue // blank or a comment: part of whatever it stands in
		case depth == 0 && first && string(bytes.TrimRight(body, " ")) == "---":
			// the one document's start, before anything else
		case depth == 0 && (bytes.HasPrefix(body, []byte("---")) || bytes.HasPrefix(body, []byte("...")) || body[0] == '%' || body[0] == 0xef):
			return sequence{}, false // documents, directives, a byte order mark
		case inValue && isItem(body) && (indent < 0 || depth == indent):
			indent = depth
			cur.items = append(cur.items, off)
		case inValue && indent < 0 && depth > 0:
			inValue, cur = false, sequence{} // a value, but not a block sequence
		case depth == 0:
			closeValue(off)
			if key, ok := blockKey(body); ok {
				inValue, cur = true, sequence{key: key, start: end}
			}
		case !inValue, depth > indent && indent >= 0:
			// another key's value, or inside an item
		default:
			return sequence{}, false // a line out of place
		}
		first = false
	}
	closeValue(len(src))
	return best, len(best.items) > 0
}

// isItem reports whether a line's text after its indentation starts a
// block sequence item.
func isItem(body []byte) bool {
	return body[0] == '-' && (len(body) == 1 || body[1] == ' ')
}

// blockKey is the key of a top-level line "key:" (a comment may follow),
// whose value is on the lines below; false for any other line. The key is
// plain and starts with a letter, so it is the same string in the JSON.
func blockKey(body []byte) (string, bool) {
	colon := bytes.IndexByte(body, ':')
	if colon < 1 {
		return "", false
	}
	key := body[:colon]
	for i, c := range key {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-')) {
			return "", false
		}
	}
	rest := bytes.TrimLeft(body[colon+1:], " ")
	if len(rest) > 0 && rest[0] != '#' {
		return "", false
	}
	if len(rest) > 0 && colon+1 == len(body)-len(rest) {
		return "", false // "key:#..." is not a comment
	}
	return string(key), !boolWord(string(key))
}
