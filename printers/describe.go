package printers

import (
	"fmt"
	"strings"

	"k8s.io/kubectl/pkg/describe"
)

// RecentRuns is how many of a deployment's finished runs its description
// reads: it lists its ten newest runs.
const RecentRuns = 10

// field writes "Label:<tab>value" at an indentation level.
func field(w describe.PrefixWriter, level int, label, format string, args ...any) {
	w.Write(level, "%s\t%s\n", label, fmt.Sprintf(format, args...))
}

// tableSection writes a label with a table's header under it, and returns
// true for the caller to write the rows; with no rows it writes
// "Label:<tab><none>" and returns false.
func tableSection(w describe.PrefixWriter, level int, label, header string, rows int) bool {
	if rows == 0 {
		field(w, level, label+":", "<none>")
		return false
	}
	w.Write(level, "%s:\n", label)
	w.Write(level+1, "%s\n", header)
	return true
}

// block writes a multi-line value indented under its label.
func block(w describe.PrefixWriter, level int, label string, text string) {
	text = strings.TrimRight(text, "\n")
	if text == "" || text == "{}" {
		field(w, level, label+":", "<none>")
		return
	}
	w.Write(level, "%s:\n", label)
	for _, l := range strings.Split(text, "\n") {
		w.Write(level+1, "%s\n", l)
	}
}

// runOverridesText lists the job variables a run may set.
func runOverridesText(names []string) string {
	if len(names) == 0 {
		return "<none> (a run may set no job variables)"
	}
	return strings.Join(names, ", ")
}
