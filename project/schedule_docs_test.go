package project_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// TestSchedulesDocExamples keeps docs/schedules.md true: its project
// loads, the error it shows is the one render gives when the New York
// schedule's region is one the schema refuses, and each row of its table
// of clock changes is what NextFires computes.
func TestSchedulesDocExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "schedules.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(string(doc))
	if len(blocks) < 2 || !strings.HasPrefix(blocks[0], "apiVersion:") {
		t.Fatalf("docs/schedules.md: want the project, then the error; got %d blocks", len(blocks))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "flows.yaml")
	load := func(src string) error {
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := project.Load(file, project.LoadOptions{})
		return err
	}
	if err := load(blocks[0]); err != nil {
		t.Fatalf("the project of docs/schedules.md does not load: %v", err)
	}
	bad := strings.Replace(blocks[0], "parameters: {region: us}", "parameters: {region: mars}", 1)
	err = load(bad)
	if err == nil {
		t.Fatal("a schedule's region the schema refuses was accepted")
	}
	if got, want := strings.TrimPrefix(err.Error(), dir+string(filepath.Separator)), strings.TrimSpace(blocks[1]); got != want {
		t.Errorf("docs/schedules.md shows the error\n%s\nrender gives\n%s", want, got)
	}

	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		s := v1alpha1.Schedule{Cron: strings.Trim(strings.TrimSpace(cells[1]), "`"), Timezone: strings.TrimSpace(cells[2])}
		if s.Timezone == "" || strings.Contains(s.Timezone, " ") {
			continue // another table
		}
		after := mustTime(t, strings.TrimSpace(cells[3]))
		want := times(t, strings.Split(strings.ReplaceAll(cells[4], " ", ""), ",")...)
		got, err := project.NextFires(s, after, len(want))
		if err != nil {
			t.Fatal(err)
		}
		if !sameTimes(got, want) {
			t.Errorf("docs/schedules.md: %s in %s after %v fires at %v, not %v", s.Cron, s.Timezone, after, got, want)
		}
		rows++
	}
	if rows < 5 {
		t.Errorf("checked %d rows of the clock-change table, want 5", rows)
	}
}

// fencedBlocks returns the contents of the ``` blocks of a markdown text.
func fencedBlocks(md string) []string {
	var out []string
	parts := strings.Split(md, "```")
	for i := 1; i < len(parts); i += 2 {
		body := parts[i]
		if nl := strings.IndexByte(body, '\n'); nl >= 0 {
			body = body[nl+1:] // the info string (yaml)
		}
		out = append(out, body)
	}
	return out
}
