// Package entrypoint holds the runner that starts a deployment's entrypoint
// ("flows/hello.py:hello", Prefect's format) with the run's parameters, and
// the command lines that call it.
//
// The runner is a short Python program of the standard library only
// (runner.py). It is not installed anywhere: the Job carries it, as
// `python -c <runner>`, in the command job variable that a Prefect base job
// template turns into the container's args. That is the place Prefect's own
// worker fills in when a deployment sets no command (it writes `prefect
// flow-run execute` there), so a Prefect base job template needs no change,
// and an image needs nothing but a `python` on its PATH: no package to
// install, no file to copy in, no __main__ block in the flow's file. A
// reviewer reads exactly what runs in the rendered Job preview, and
// `kubectl flows run --local` runs the same program on the user's machine.
package entrypoint

import (
	_ "embed"
	"strings"
	"sync"
)

// Source is the runner program.
//
//go:embed runner.py
var Source string

// Python is the interpreter the Job's command names: the official Python
// and Prefect images both have it on PATH.
const Python = "python"

// Args is the runner's command line with the given interpreter.
func Args(python string) []string { return []string{python, "-c", Source} }

// Command is Args(Python) as one shell-quoted string, the form of the
// command job variable (the template splits it as a shell would). It is
// made once: every run and every Job preview of a render asks for it, and
// quoting the runner's source each time allocated three copies of it.
var Command = sync.OnceValue(func() string {
	words := Args(Python)
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
})

// IsRunner reports whether a container's command line is the runner's,
// with any interpreter.
func IsRunner(argv []string) bool {
	return len(argv) == 3 && argv[1] == "-c" && argv[2] == Source
}

// shellQuote quotes a word for a POSIX shell (and for the template's shell
// split): plain words stay as they are, others go in single quotes.
func shellQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
