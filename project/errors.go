package project

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	yamlv3 "go.yaml.in/yaml/v3"
)

// FieldError is one problem in a project file, located by file, field path
// and, where the source is YAML, line.
type FieldError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// ErrorList is every problem found in one pass, so a user fixes them all at
// once instead of one per run.
type ErrorList []*FieldError

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// errs collects FieldErrors for one file and fills in their lines.
type errs struct {
	file  string
	lines *lineIndex
	list  ErrorList
}

func (e *errs) add(field, format string, args ...any) {
	e.list = append(e.list, &FieldError{File: e.file, Line: e.lines.line(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (e *errs) err() error {
	if len(e.list) == 0 {
		return nil
	}
	return e.list
}

// lineIndex maps a field path such as deployments[2].pool to the line it
// stands on in a YAML source. Jsonnet output has no lines to give. The
// source is parsed for its lines only when an error needs one: a valid
// project, the usual case, would pay a second parse of the whole file.
type lineIndex struct {
	src  []byte
	once sync.Once
	root *yamlv3.Node
}

func newLineIndex(src []byte) *lineIndex {
	return &lineIndex{src: src}
}

func (l *lineIndex) parse() {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(l.src, &doc); err == nil && len(doc.Content) > 0 {
		l.root = doc.Content[0]
	}
	l.src = nil
}

// line returns the line of the deepest node on the path that exists, so an
// error about a missing field points at its parent.
func (l *lineIndex) line(path string) int {
	if l == nil {
		return 0
	}
	l.once.Do(l.parse)
	if l.root == nil {
		return 0
	}
	n, line := l.root, l.root.Line
	for _, seg := range splitPath(path) {
		next, keyLine := child(n, seg)
		if next == nil {
			if keyLine > 0 {
				line = keyLine
			}
			break
		}
		n, line = next, keyLine
	}
	return line
}

func child(n *yamlv3.Node, seg string) (*yamlv3.Node, int) {
	switch n.Kind {
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case yamlv3.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i].Line
		}
	}
	return nil, 0
}

// splitPath turns a.b[3].c into [a b 3 c].
func splitPath(path string) []string {
	var segs []string
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			open := strings.IndexByte(part, '[')
			if open < 0 {
				segs = append(segs, part)
				break
			}
			if open > 0 {
				segs = append(segs, part[:open])
			}
			end := strings.IndexByte(part, ']')
			if end < open {
				segs = append(segs, part[open:])
				break
			}
			segs = append(segs, part[open+1:end])
			part = part[end+1:]
		}
	}
	return segs
}
