package printers

import "testing"

// TestRowKey: `get -w` prints a row again when it changed, not when only
// its ages, a countdown or the age of the last run moved on.
func TestRowKey(t *testing.T) {
	k := DeploymentKind // its Last Run has an age, its Next Run a countdown
	row := func(last, next string) Row {
		return Row{Cells: []any{"hello/default", "kubernetes", "default", "<none>", "no", "1/2", last, next, "0", "<none>", "flows/hello.py:hello"}}
	}
	same := [][2]Row{
		{row("Running (40s)", "in 40s"), row("Running (41s)", "in 39s")},
	}
	changed := [][2]Row{
		{row("Running (40s)", "<none>"), row("Completed (41s)", "<none>")},
		{row("Running (40s)", "2026-11-22T10:00:00Z"), row("Running (40s)", "2026-11-22T11:00:00Z")},
	}
	for _, p := range same {
		if RowKey(k, p[0]) != RowKey(k, p[1]) {
			t.Errorf("%v and %v differ", p[0].Cells, p[1].Cells)
		}
	}
	for _, p := range changed {
		if RowKey(k, p[0]) == RowKey(k, p[1]) {
			t.Errorf("%v and %v are the same", p[0].Cells, p[1].Cells)
		}
	}
	runs := RunKind // Age and Duration tick every second
	a, b := make([]any, len(runs.Columns)), make([]any, len(runs.Columns))
	for i, c := range runs.Columns {
		a[i], b[i] = c.Name, c.Name
		if c.Name == "Age" || c.Name == "Duration" {
			a[i], b[i] = "5s", "6s"
		}
	}
	if RowKey(runs, Row{Cells: a}) != RowKey(runs, Row{Cells: b}) {
		t.Error("a run's row changes with its age")
	}
}
