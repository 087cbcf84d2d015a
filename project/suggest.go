package project

import (
	"sort"
	"strings"

	"github.com/kubectl-flows/kubectl-flows/internal/editdistance"
)

// Closest returns up to max of candidates that look like name: the ones
// within a small edit distance (a typo, a swapped letter), then those
// sharing a prefix or containing it, best first. It is for "did you mean"
// hints in errors. A name longer than editdistance.MaxLen gets none.
func Closest(name string, candidates []string, max int) []string {
	type scored struct {
		s    string
		dist int
	}
	if len(name) > editdistance.MaxLen {
		return nil
	}
	var out []scored
	lname := strings.ToLower(name)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d, ok := editdistance.Distance(lname, lc)
		if !ok {
			continue
		}
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

func sharedPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
