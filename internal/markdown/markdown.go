// Package markdown reads what the project's documentation shows, so tests
// can hold the docs to the code: fenced code blocks, the shell commands in
// them, inline code, links and the anchors GitHub gives headings. It reads
// the subset of CommonMark the docs use (ATX headings, ``` and ~~~ fences,
// inline links and images), not Markdown at large.
package markdown

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Block is a fenced code block.
type Block struct {
	Lang string // the first word of the info string: sh, console, yaml, ...
	Info string // the whole info string: yaml from=../examples/hello/flows.yaml
	Line int    // the line of the opening fence, from 1
	Text string // the content, without the fences
}

// Blocks returns the fenced code blocks of src in order. A fence closes
// only with a fence of its own character at least as long, so a ````markdown
// block may hold ``` blocks. An unclosed block runs to the end, as in
// CommonMark.
func Blocks(src string) []Block {
	var out []Block
	walk(src, func(int, string) {}, func(b Block) { out = append(out, b) })
	return out
}

// walk calls prose for each line outside fenced blocks (with its line
// number) and block for each fenced block.
func walk(src string, prose func(line int, text string), block func(Block)) {
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		fence, info, ok := openingFence(lines[i])
		if !ok {
			prose(i+1, lines[i])
			continue
		}
		b := Block{Lang: firstWord(info), Info: info, Line: i + 1}
		var body []string
		for i++; i < len(lines); i++ {
			if closesFence(lines[i], fence) {
				break
			}
			body = append(body, lines[i])
		}
		b.Text = strings.Join(body, "\n")
		block(b)
	}
}

// openingFence reads a line that opens a fenced block. Fences may be
// indented (a block inside a list item).
func openingFence(line string) (fence, info string, ok bool) {
	t := strings.TrimLeft(line, " ")
	for _, c := range []string{"`", "~"} {
		n := len(t) - len(strings.TrimLeft(t, c))
		if n >= 3 {
			info = strings.TrimSpace(t[n:])
			if c == "`" && strings.Contains(info, "`") {
				return "", "", false
			}
			return t[:n], info, true
		}
	}
	return "", "", false
}

func closesFence(line, fence string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" // a longer fence closes too
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Span is a piece of text outside fenced blocks: an inline code span's
// content, or a link's target.
type Span struct {
	Line int
	Text string
}

// prose returns the text outside fenced blocks with every fenced line
// blanked, so offsets still give line numbers.
func prose(src string) string {
	var b strings.Builder
	lines := strings.Count(src, "\n") + 1
	next := 1
	walk(src, func(line int, text string) {
		for ; next < line; next++ {
			b.WriteByte('\n')
		}
		b.WriteString(text)
	}, func(Block) {})
	for ; next < lines; next++ {
		b.WriteByte('\n')
	}
	return b.String()
}

// codeSpan matches an inline code span of one or two backticks, which may
// run over a line break.
var codeSpan = regexp.MustCompile("(?s)``.+?``|`[^`]+`")

// InlineCode returns the content of the inline code spans outside fenced
// blocks, each with the line it starts on.
func InlineCode(src string) []Span {
	p := prose(src)
	var out []Span
	for _, m := range codeSpan.FindAllStringIndex(p, -1) {
		text := strings.Trim(p[m[0]:m[1]], "`")
		out = append(out, Span{Line: lineOf(p, m[0]), Text: strings.Join(strings.Fields(text), " ")})
	}
	return out
}

// link matches the target of an inline link or image, with an optional
// title: ](target) or ](target "title").
var link = regexp.MustCompile(`\]\(([^()\s]+)(?:\s+"[^"]*")?\)`)

// Links returns the targets of the inline links and images outside fenced
// blocks and code spans.
func Links(src string) []Span {
	p := codeSpan.ReplaceAllStringFunc(prose(src), func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '\n' {
				return r
			}
			return ' '
		}, s)
	})
	var out []Span
	for _, m := range link.FindAllStringSubmatchIndex(p, -1) {
		out = append(out, Span{Line: lineOf(p, m[0]), Text: p[m[2]:m[3]]})
	}
	return out
}

func lineOf(s string, offset int) int {
	return strings.Count(s[:offset], "\n") + 1
}

// Anchors returns the ids GitHub gives the ATX headings of src: the
// heading's text lower-cased, without punctuation, spaces turned into
// hyphens, and -1, -2, ... added to repeats.
func Anchors(src string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	walk(src, func(_ int, line string) {
		text, ok := heading(line)
		if !ok {
			return
		}
		id := Slug(text)
		if n := seen[id]; n > 0 {
			out[id+"-"+strconv.Itoa(n)] = true
		} else {
			out[id] = true
		}
		seen[id]++
	}, func(Block) {})
	return out
}

func heading(line string) (string, bool) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return "", false
	}
	n := len(t) - len(strings.TrimLeft(t, "#"))
	if n < 1 || n > 6 || (len(t) > n && t[n] != ' ' && t[n] != '\t') {
		return "", false
	}
	text := strings.TrimSpace(t[n:])
	text = strings.TrimSpace(strings.TrimRight(text, "#")) // closing sequence
	return text, true
}

// inlineLink matches a whole inline link or image, whose text is what a
// heading's id is made of.
var inlineLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)

// Slug is GitHub's id for a heading's text.
func Slug(text string) string {
	text = inlineLink.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
