package project

import "unicode/utf8"

// Truncate bounds text that echoes untrusted input (a message written into
// a status, an error naming a request's field) to about n bytes, cut on a
// rune boundary, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
