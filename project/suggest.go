package project

import (
	"sort"
	"strings"
)

// Closest returns up to max of candidates that look like name: the ones
// within a small edit distance (a typo, a swapped letter), then those
// sharing a prefix or containing it, best first. It is for "did you mean"
// hints in errors. A name over maxSuggestInput bytes gets none: no name is
// that long, and the edit distance costs its length times each candidate's
// (a 1 MB name in a run request once stalled the reconciler for a second).
func Closest(name string, candidates []string, max int) []string {
	if len(name) > maxSuggestInput {
		return nil
	}
	type scored struct {
		s    string
		dist int
	}
	var out []scored
	lname := strings.ToLower(name)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := editDistance(lname, lc)
		limit := len(name) / 3
		if limit < 2 {
			limit = 2
		}
		switch {
		case d <= limit:
		case lname != "" && (strings.Contains(lc, lname) || strings.Contains(lname, lc)):
			d = limit + 1
		case sharedPrefix(lname, lc) >= 3 || (strings.Contains(lname, "/") && strings.HasPrefix(lc, strings.SplitN(lname, "/", 2)[0]+"/")):
			d = limit + 2
		default:
			continue
		}
		out = append(out, scored{c, d})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].dist != out[j].dist {
			return out[i].dist < out[j].dist
		}
		return out[i].s < out[j].s
	})
	if len(out) > max {
		out = out[:max]
	}
	names := make([]string, len(out))
	for i, o := range out {
		names[i] = o.s
	}
	return names
}

// maxSuggestInput is the longest name Closest looks at: a DNS subdomain's
// 253 bytes, longer than any pool, queue or flow/name.
const maxSuggestInput = 253

func sharedPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance: insertions, deletions, substitutions and adjacent swaps.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
