package review

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Review is what `kubectl flows review` prints: one report per target (the
// project's render, or each kustomize overlay) between two named sides.
type Review struct {
	Base    string    `json:"base"`
	Head    string    `json:"head"`
	Reports []*Report `json:"reports"`
}

// Changes counts the changes of every report.
func (rv *Review) Changes() int {
	n := 0
	for _, r := range rv.Reports {
		n += len(r.Changes)
	}
	return n
}

// Errors counts the changes marked Error.
func (rv *Review) Errors() int {
	n := 0
	for _, r := range rv.Reports {
		n += r.Errors()
	}
	return n
}

// Formats review can write.
var Formats = []string{"text", "markdown", "json"}

// Write prints the review in a format.
func (rv *Review) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(rv, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "markdown":
		return rv.markdown(w)
	case "text", "":
		return rv.text(w)
	}
	return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// line is a change in one line: object, field, before → after, note.
func (ch *Change) line(code func(string) string) string {
	var b strings.Builder
	b.WriteString(ch.Object)
	if ch.Field != "" {
		b.WriteString(" " + ch.Field)
	}
	switch {
	case ch.Before != "" && ch.After != "":
		fmt.Fprintf(&b, ": %s → %s", code(ch.Before), code(ch.After))
	case ch.After != "":
		fmt.Fprintf(&b, ": + %s", code(ch.After))
	case ch.Before != "":
		fmt.Fprintf(&b, ": − %s", code(ch.Before))
	}
	if ch.Note != "" {
		if ch.Before != "" || ch.After != "" {
			b.WriteString(" (" + ch.Note + ")")
		} else {
			b.WriteString(": " + ch.Note)
		}
	}
	return b.String()
}

func (rv *Review) text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Review of %s against %s: %s\n", rv.Head, rv.Base, count(rv.Changes(), "change"))
	plain := func(s string) string { return s }
	for _, r := range rv.Reports {
		fmt.Fprintf(&b, "\n== %s: %s\n", r.Target, count(len(r.Changes), "change"))
		r.grouped(func(g Group, chs []Change) {
			fmt.Fprintf(&b, "\n%s (%d)\n", g.Title(), len(chs))
			for _, ch := range chs {
				mark := "-"
				if ch.Error {
					mark = "! ERROR"
				}
				fmt.Fprintf(&b, "  %s %s\n", mark, ch.line(plain))
				for _, d := range ch.Details {
					fmt.Fprintf(&b, "      %s\n", d)
				}
			}
		})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdown is for a pull-request comment: the changes by group as lists a
// reviewer reads in a minute, the exact YAML hunks folded below.
func (rv *Review) markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### kubectl flows review\n\n`%s` against `%s`: **%s**", rv.Head, rv.Base, count(rv.Changes(), "change"))
	if n := rv.Errors(); n > 0 {
		fmt.Fprintf(&b, ", **%s**", count(n, "error"))
	}
	b.WriteString("\n")
	code := func(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }
	for _, r := range rv.Reports {
		if len(rv.Reports) > 1 || len(r.Changes) == 0 {
			fmt.Fprintf(&b, "\n#### %s: %s\n", r.Target, count(len(r.Changes), "change"))
		}
		r.grouped(func(g Group, chs []Change) {
			fmt.Fprintf(&b, "\n**%s** (%d)\n\n", g.Title(), len(chs))
			for _, ch := range chs {
				mark := ""
				if ch.Error {
					mark = "❌ **error**: "
				}
				fmt.Fprintf(&b, "- %s%s\n", mark, ch.line(code))
				for _, d := range ch.Details {
					fmt.Fprintf(&b, "  - %s\n", d)
				}
			}
		})
		if len(r.Hunks) > 0 {
			fmt.Fprintf(&b, "\n<details><summary>YAML changes of %s (%s)</summary>\n\n", r.Target, count(len(r.Hunks), "object"))
			for _, h := range r.Hunks {
				fmt.Fprintf(&b, "%s\n\n```diff\n%s```\n\n", h.Object, h.Diff)
			}
			b.WriteString("</details>\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// grouped calls f for each group with changes, in the order of Groups.
func (r *Report) grouped(f func(g Group, chs []Change)) {
	for _, g := range Groups {
		if chs := r.group(g); len(chs) > 0 {
			f(g, chs)
		}
	}
}

func (r *Report) group(g Group) []Change {
	var out []Change
	for _, ch := range r.Changes {
		if ch.Group == g {
			out = append(out, ch)
		}
	}
	return out
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
