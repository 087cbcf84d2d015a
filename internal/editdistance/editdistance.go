// Package editdistance measures how far apart two names are, for the "did
// you mean" hints of the CLI (project) and of job templates (jobtemplate).
// It lives apart from both because project imports jobtemplate.
package editdistance

// MaxLen is the longest name, in bytes, that Distance compares: the longest
// Kubernetes object name. The cost grows with the product of the two
// lengths, and names come from untrusted input (a run request, a command
// line), so a longer one gets no suggestion instead of costing seconds.
const MaxLen = 253

// Distance is the Damerau-Levenshtein (optimal string alignment) distance
// between a and b, counted in runes: insertions, deletions, substitutions
// and swaps of two adjacent runes each cost 1. ok is false, and nothing is
// computed, when either is longer than MaxLen bytes.
func Distance(a, b string) (d int, ok bool) {
	if len(a) > MaxLen || len(b) > MaxLen {
		return 0, false
	}
	ra, rb := []rune(a), []rune(b)
	// Three rows of the matrix: the swap rule looks two rows back.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)], true
}
