// Package docs_test holds the documentation to the code, so the docs cannot
// drift from it unnoticed: the commands they show exist with the flags they
// show, their links lead somewhere, the tests and files they name exist, and
// the outputs they quote are the files the tests compare with. What can
// only be shown on a cluster is run by test/e2e (TestReadmeQuickStart).
package docs_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-flows/kubectl-flows/internal/markdown"
	"github.com/kubectl-flows/kubectl-flows/plugin"
)

// root is the repository, seen from this package's directory.
const root = ".."

// doc is one documentation file, its path relative to the repository.
type doc struct {
	path string
	src  string
}

// docs returns the documentation the tests check: the README, the
// contributing guide, everything under docs/, and the READMEs of bench/
// and the test harness.
func docs(t *testing.T) []doc {
	t.Helper()
	paths := []string{"README.md", "CONTRIBUTING.md", "bench/README.md", "test/harness/README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range more {
		rel, _ := filepath.Rel(root, m)
		paths = append(paths, filepath.ToSlash(rel))
	}
	var out []doc
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, doc{path: p, src: string(b)})
	}
	return out
}

// TestDocCommands checks every command the docs show in a shell block that
// can be checked without a cluster: a `kubectl flows ...` line parses
// against the plugin's own command tree (its subcommands, flags and
// argument counts), a `make` target is in the Makefile, and the local
// packages and scripts that `go` and `bash` lines name exist.
func TestDocCommands(t *testing.T) {
	targets := makeTargets(t)
	checked := 0
	for _, d := range docs(t) {
		for _, b := range markdown.Blocks(d.src) {
			if !b.Shell() {
				continue
			}
			for _, c := range markdown.Commands(b) {
				var err error
				switch {
				case len(c.Args) > 1 && c.Args[0] == "kubectl" && c.Args[1] == "flows":
					err = checkFlows(c.Args[2:])
				case c.Args[0] == "kubectl-flows":
					err = checkFlows(c.Args[1:])
				case c.Args[0] == "make":
					err = checkMake(c.Args[1:], targets)
				case c.Args[0] == "go" || c.Args[0] == "bash":
					err = checkLocalPaths(c.Args[1:])
				default:
					continue
				}
				checked++
				if err != nil {
					t.Errorf("%s:%d: %s: %v", d.path, c.Line, strings.Join(c.Args, " "), err)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d commands found in the docs: the test no longer reads them", checked)
	}
	t.Logf("%d commands checked", checked)
}

// TestDocInlineCommands checks the `kubectl flows ...` commands written in
// the running text the same way, except those with a <placeholder>.
func TestDocInlineCommands(t *testing.T) {
	checked := 0
	for _, d := range docs(t) {
		for _, s := range markdown.InlineCode(d.src) {
			rest, ok := strings.CutPrefix(s.Text, "kubectl flows ")
			if !ok || strings.ContainsAny(rest, "<>") {
				continue
			}
			checked++
			// Running text may name a flag without its value (run -j).
			words := strings.Fields(rest)
			err := checkFlows(words)
			if err != nil && checkFlows(append(words, "VALUE")) == nil {
				err = nil
			}
			if err != nil {
				t.Errorf("%s:%d: `%s`: %v", d.path, s.Line, s.Text, err)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no inline kubectl flows command found in the docs")
	}
	t.Logf("%d commands checked", checked)
}

// checkFlows parses one `kubectl flows` command line with the plugin's
// command tree, as cobra would before running it. The docs' synopsis
// notation is read first: [optional] parts are shown, of a|b|c the first,
// "..." is left out.
func checkFlows(args []string) error {
	var words []string
	for _, a := range args {
		a = strings.Trim(a, "[]")
		a, _, _ = strings.Cut(a, "|")
		if a != "" && a != "..." {
			words = append(words, a)
		}
	}
	cmd := plugin.NewCmdFlows(genericiooptions.NewTestIOStreamsDiscard())
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultCompletionCmd()
	cmd, rest, err := cmd.Find(words)
	if err != nil {
		return err
	}
	cmd.InitDefaultHelpFlag()
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	if help, _ := cmd.Flags().GetBool("help"); help || len(words) == 0 {
		return nil // kubectl flows, kubectl flows X --help
	}
	if !cmd.Runnable() {
		var subs []string
		for _, c := range cmd.Commands() {
			subs = append(subs, c.Name())
		}
		return fmt.Errorf("%s needs one of the subcommands %s", cmd.CommandPath(), strings.Join(subs, ", "))
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
	}
	return nil
}

var makeTarget = regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+):([^=]|$)`)

func makeTargets(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range makeTarget.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out
}

func checkMake(args []string, targets map[string]bool) error {
	for _, a := range args {
		if strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
			continue
		}
		if !targets[a] {
			return fmt.Errorf("the Makefile has no target %q", a)
		}
	}
	return nil
}

// checkLocalPaths checks that the repository paths a go or bash command
// names (./render/, ./test/..., test/tools/build.sh) exist.
func checkLocalPaths(args []string) error {
	for _, a := range args {
		p := strings.TrimSuffix(a, "/...")
		if !strings.HasPrefix(p, "./") && !strings.HasSuffix(p, ".sh") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			return fmt.Errorf("no %s in the repository", a)
		}
	}
	return nil
}

var urlScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:`)

// TestDocLinks checks that every relative link of the docs leads to a file
// of the repository, and to a heading of it when it names one.
func TestDocLinks(t *testing.T) {
	anchors := map[string]map[string]bool{}
	checked := 0
	for _, d := range docs(t) {
		for _, l := range markdown.Links(d.src) {
			if urlScheme.MatchString(l.Text) {
				continue // http:, https:, mailto:
			}
			checked++
			if err := checkLink(d.path, l.Text, anchors); err != nil {
				t.Errorf("%s:%d: link %s: %v", d.path, l.Line, l.Text, err)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d relative links found in the docs: the test no longer reads them", checked)
	}
	t.Logf("%d links checked", checked)
}

func checkLink(from, target string, anchors map[string]map[string]bool) error {
	path, anchor, _ := strings.Cut(target, "#")
	file := from
	if path != "" {
		file = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(from), path)))
		if file == ".." || strings.HasPrefix(file, "../") || filepath.IsAbs(path) {
			return fmt.Errorf("leads out of the repository")
		}
		if _, err := os.Stat(filepath.Join(root, file)); err != nil {
			return fmt.Errorf("no file %s", file)
		}
	}
	if anchor == "" {
		return nil
	}
	if !strings.HasSuffix(file, ".md") {
		return fmt.Errorf("an anchor into %s, which is not Markdown", file)
	}
	if anchors[file] == nil {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			return err
		}
		anchors[file] = markdown.Anchors(string(b))
	}
	if !anchors[file][anchor] {
		known := make([]string, 0, len(anchors[file]))
		for a := range anchors[file] {
			known = append(known, a)
		}
		slices.Sort(known)
		return fmt.Errorf("%s has no heading #%s (it has #%s)", file, anchor, strings.Join(known, ", #"))
	}
	return nil
}

// TestDocExcerpts checks the blocks that quote a file of the repository:
// a fenced block whose info string says from=PATH (relative to the doc)
// shows lines of that file exactly, in order, each run of lines together
// as in the file; a line "..." stands for lines left out.
func TestDocExcerpts(t *testing.T) {
	checked := 0
	for _, d := range docs(t) {
		for _, b := range markdown.Blocks(d.src) {
			from := ""
			for _, f := range strings.Fields(b.Info) {
				if p, ok := strings.CutPrefix(f, "from="); ok {
					from = p
				}
			}
			if from == "" {
				continue
			}
			checked++
			file := filepath.Join(root, filepath.Dir(d.path), filepath.FromSlash(from))
			want, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s:%d: from=%s: %v", d.path, b.Line, from, err)
				continue
			}
			if err := excerptOf(b.Text, string(want)); err != nil {
				t.Errorf("%s:%d: the block is not an excerpt of %s: %v", d.path, b.Line, from, err)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no block with from= found in the docs")
	}
	t.Logf("%d excerpts checked", checked)
}

// excerptOf says whether excerpt's runs of lines (split at "..." lines)
// appear in file in order, each run as consecutive lines.
func excerptOf(excerpt, file string) error {
	lines := strings.Split(strings.TrimSuffix(file, "\n"), "\n")
	at := 0
	for _, run := range strings.Split(excerpt, "\n...\n") {
		want := strings.Split(run, "\n")
		found := -1
		for i := at; i+len(want) <= len(lines); i++ {
			if slices.Equal(lines[i:i+len(want)], want) {
				found = i
				break
			}
		}
		if found < 0 {
			return fmt.Errorf("these lines are not in it (after line %d):\n%s", at, run)
		}
		at = found + len(want)
	}
	return nil
}

var (
	testName = regexp.MustCompile(`\bTest[A-Z][A-Za-z0-9_]*`)
	testFunc = regexp.MustCompile(`(?m)^func (Test[A-Z][A-Za-z0-9_]*)\(`)
)

// TestDocNames checks that the tests the docs name (TestXxx) exist, and
// the files of the repository they name in backticks (reconciler/plan.go,
// test/e2e/attacks_test.go).
func TestDocNames(t *testing.T) {
	tests := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && strings.HasPrefix(e.Name(), ".") && p != root {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
				tests[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	top := topDirs(t)
	for _, d := range docs(t) {
		own := map[string]bool{} // tests a doc's own Go example defines
		for _, b := range markdown.Blocks(d.src) {
			for _, m := range testFunc.FindAllStringSubmatch(b.Text, -1) {
				own[m[1]] = true
			}
		}
		for _, name := range testName.FindAllString(d.src, -1) {
			if !tests[name] && !own[name] {
				t.Errorf("%s: names %s, which is no test of the repository", d.path, name)
			}
		}
		for _, s := range markdown.InlineCode(d.src) {
			first, _, ok := strings.Cut(s.Text, "/")
			if !ok || !top[first] || strings.ContainsAny(s.Text, " <>*{}$") {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(s.Text))); err != nil {
				t.Errorf("%s:%d: names %s, which is not in the repository", d.path, s.Line, s.Text)
			}
		}
	}
}

// topDirs returns the repository's top-level directories: a path in
// backticks starting with one of them is a path of the repository. bin/
// and dist/ hold what make builds, there or not: not the repository's.
func topDirs(t *testing.T) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && e.Name() != "bin" && e.Name() != "dist" {
			out[e.Name()] = true
		}
	}
	return out
}
