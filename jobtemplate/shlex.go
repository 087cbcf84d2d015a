package jobtemplate

import (
	"errors"
	"strings"
)

// shellSplit splits a command line into words with POSIX shell quoting, like
// Python's shlex.split, which Prefect applies to a string command
// (prefect.utilities.processutils.command_from_string): whitespace separates
// words, '...' is literal, "..." allows the escapes \" and \\, and a
// backslash outside quotes escapes the next character. No expansion happens.
func shellSplit(s string) ([]any, error) {
	var words []any
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 == len(s) {
				return nil, errors.New("no escaped character after the final backslash")
			}
			i++
			cur.WriteByte(s[i])
		case c == '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("no closing quotation (')")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				c := s[i]
				if c == '"' {
					closed = true
					break
				}
				if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
					cur.WriteByte(s[i])
					continue
				}
				cur.WriteByte(c)
			}
			if !closed {
				return nil, errors.New(`no closing quotation (")`)
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
