package markdown

import (
	"strings"
)

// Command is one simple command shown in a shell block: its words, without
// the variable assignments that lead it or its redirections.
type Command struct {
	Line int // the line of the doc it starts on
	Args []string
}

// Shell says whether a block holds shell commands (sh, bash, shell,
// console).
func (b Block) Shell() bool {
	switch b.Lang {
	case "sh", "bash", "shell", "console":
		return true
	}
	return false
}

// Commands returns the commands of a shell block. In a console block only
// what follows a "$ " prompt is a command, the rest is its output; in the
// others every line is, and a leading "$ " is dropped. A line ending in a
// backslash goes on on the next; # starts a comment at the start of a
// word; words are split as the shell splits them (quotes, backslashes and
// $(...) kept in one word); ";" and the words "&&", "||", "|" and "&"
// end a command, so a "|" inside a word (bash|zsh) is the docs' notation
// for alternatives, not a pipe.
func Commands(b Block) []Command {
	var out []Command
	lines := strings.Split(b.Text, "\n")
	for i := 0; i < len(lines); i++ {
		start := b.Line + 1 + i
		line := strings.TrimSpace(lines[i])
		prompted := strings.HasPrefix(line, "$ ")
		if b.Lang == "console" && !prompted {
			continue
		}
		line = strings.TrimPrefix(line, "$ ")
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		for _, words := range splitCommands(shellWords(line)) {
			if args := commandArgs(words); len(args) > 0 {
				out = append(out, Command{Line: start, Args: args})
			}
		}
	}
	return out
}

// shellWords splits a line into words as sh does, enough for the docs:
// quotes and backslashes, $(...) as part of a word, # comments.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == ';':
			flush()
			words = append(words, ";")
		case c == '#' && !inWord:
			flush()
			return words
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				w.WriteByte(line[i])
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			end := matchingParen(line, i+1)
			w.WriteString(line[i:end])
			i = end - 1
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words
}

// matchingParen returns the offset after the ")" that closes the "(" at
// open, or the end of s.
func matchingParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

func splitCommands(words []string) [][]string {
	var out [][]string
	var cur []string
	for _, w := range words {
		switch w {
		case "&&", "||", ";", "|", "&":
			out = append(out, cur)
			cur = nil
		default:
			cur = append(cur, w)
		}
	}
	return append(out, cur)
}

// commandArgs drops the assignments that lead a command (A=b cmd) and its
// redirections (> file, 2>&1).
func commandArgs(words []string) []string {
	for len(words) > 0 && isAssignment(words[0]) {
		words = words[1:]
	}
	var args []string
	for i := 0; i < len(words); i++ {
		w := strings.TrimLeft(words[i], "0123456789")
		switch {
		case w == ">" || w == ">>" || w == "<":
			i++ // and its file
		case strings.HasPrefix(w, ">") || strings.HasPrefix(w, "<"):
		default:
			args = append(args, words[i])
		}
	}
	return args
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, c := range name {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
