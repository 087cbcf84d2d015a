package yamlcodec

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Long multi-line strings (a deployment's Job preview inside its
// ConfigMap, the entrypoint runner inside the preview) are most of what
// render writes, and yaml.v2 writes them a rune at a time after scanning
// them a rune at a time to choose their style. For the strings whose
// literal block is plain indentation, which is how yaml.v2 writes every
// such string, the work is left to yaml.v2 but for the copying: each is
// replaced by a one-line placeholder, yaml.v2 encodes the rest, and
// writeLiterals puts the lines back under the placeholder's indentation.
// Anything unexpected in yaml.v2's output falls back to yaml.v2 alone.

// literalMin is the length from which a string is worth a placeholder.
const literalMin = 256

const placeholderPrefix = "yamlcodec-literal-"

// placeholderDigits fixes the width of a placeholder's number, so one
// never prefixes another.
const placeholderDigits = 8

func placeholder(i int) string {
	return fmt.Sprintf("%s%0*d\n", placeholderPrefix, placeholderDigits, i)
}

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

// withPlaceholders returns v with each long plainLiteral string under a
// map value or a list item replaced by a placeholder, appended to blocks;
// containers are copied where something below them is replaced, so v
// itself is never changed. Map keys stay: yaml.v2 never writes a key as a
// block.
func withPlaceholders(v any, blocks *[]string) (any, bool) {
	swap := func(e any) (any, bool) {
		if s, ok := e.(string); ok {
			if len(s) >= literalMin && plainLiteral(s) {
				*blocks = append(*blocks, s)
				return placeholder(len(*blocks) - 1), true
			}
			return e, false
		}
		return withPlaceholders(e, blocks)
	}
	switch t := v.(type) {
	case map[string]any:
		var out map[string]any
		for k, e := range t {
			if r, changed := swap(e); changed {
				if out == nil {
					out = make(map[string]any, len(t))
					for k2, e2 := range t {
						out[k2] = e2
					}
				}
				out[k] = r
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, e := range t {
			if r, changed := swap(e); changed {
				if out == nil {
					out = append([]any(nil), t...)
				}
				out[i] = r
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

// writeLiterals replaces each placeholder line of yaml.v2's output with
// its block's lines at the same indentation, as yaml.v2 writes a literal
// block. It reports false, for the caller to fall back, unless every
// placeholder stands alone on the line below a "|" exactly once and
// nothing else in out looks like one.
func writeLiterals(out []byte, blocks []string) ([]byte, bool) {
	type spot struct{ lineStart, lineEnd, indent, block int }
	var spots []spot // in the order they stand in out
	seen := make([]bool, len(blocks))
	size := len(out)
	for from := 0; ; {
		p := bytes.Index(out[from:], []byte(placeholderPrefix))
		if p < 0 {
			break
		}
		p += from
		ls := bytes.LastIndexByte(out[:p], '\n') + 1
		end := p + len(placeholderPrefix) + placeholderDigits
		if ls < 2 || out[ls-2] != '|' || end >= len(out) || out[end] != '\n' ||
			len(bytes.TrimLeft(out[ls:p], " ")) != 0 {
			return nil, false
		}
		i, err := strconv.Atoi(string(out[p+len(placeholderPrefix) : end]))
		if err != nil || i < 0 || i >= len(blocks) || seen[i] {
			return nil, false
		}
		seen[i] = true
		spots = append(spots, spot{ls, end + 1, p - ls, i})
		size += len(blocks[i]) + (p-ls)*strings.Count(blocks[i], "\n")
		from = end
	}
	if len(spots) != len(blocks) {
		return nil, false
	}
	b := make([]byte, 0, size)
	last := 0
	for _, sp := range spots {
		b = append(b, out[last:sp.lineStart]...)
		b = appendIndented(b, blocks[sp.block], sp.indent)
		last = sp.lineEnd
	}
	return append(b, out[last:]...), true
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
