package printers

import (
	"fmt"
	"regexp"
	"strings"
)

// countdown is a time to come in a cell: "in 40s" of "not yet due (in
// 40s)", a retry's "Retrying (attempt 2 of 3, in 40s: Evicted)" or a
// rate's next start.
var countdown = regexp.MustCompile(`\bin [0-9][0-9a-z]*`)

// RowKey is a row without its age columns and countdowns ("in 40s"):
// they tick every second, and only real changes are printed.
func RowKey(k *Kind, r Row) string {
	var parts []string
	for i, c := range r.Cells {
		name := k.Columns[i].Name
		if name == "Age" || name == "Duration" {
			continue
		}
		s := countdown.ReplaceAllString(fmt.Sprint(c), "in ...")
		if name == "Last Run" {
			s, _, _ = strings.Cut(s, " (")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\x00")
}
