package markdown

import (
	"reflect"
	"testing"
)

const doc = "# Title\n" +
	"\n" +
	"See [the guide](docs/guide.md#set-up) and ![a plot](plot.png \"Plot\").\n" +
	"Not a link: `[x](nowhere.md)`; a [split\n" +
	"link](#title).\n" +
	"\n" +
	"````markdown from=x.md\n" +
	"## Not a heading\n" +
	"```sh\n" +
	"[inside](fence.md)\n" +
	"```\n" +
	"````\n" +
	"\n" +
	"## `run --local`: a Run!\n" +
	"## Title\n" +
	"  ~~~console\n" +
	"  $ kubectl flows render\n" +
	"  rendered\n" +
	"  ~~~\n"

func TestBlocks(t *testing.T) {
	got := Blocks(doc)
	want := []Block{
		{Lang: "markdown", Info: "markdown from=x.md", Line: 7, Text: "## Not a heading\n```sh\n[inside](fence.md)\n```"},
		{Lang: "console", Info: "console", Line: 16, Text: "  $ kubectl flows render\n  rendered"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Blocks:\n got %#v\nwant %#v", got, want)
	}
}

func TestLinks(t *testing.T) {
	got := Links(doc)
	want := []Span{{3, "docs/guide.md#set-up"}, {3, "plot.png"}, {5, "#title"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Links:\n got %v\nwant %v", got, want)
	}
}

func TestInlineCode(t *testing.T) {
	got := InlineCode("a `kubectl flows\n  run x` and ``b`c``\n```sh\n`not`\n```\n`d`")
	want := []Span{{1, "kubectl flows run x"}, {2, "b`c"}, {6, "d"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InlineCode:\n got %v\nwant %v", got, want)
	}
}

func TestAnchors(t *testing.T) {
	got := Anchors(doc)
	want := map[string]bool{"title": true, "run---local-a-run": true, "title-1": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Anchors: got %v, want %v", got, want)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Flux: two environments":                      "flux-two-environments",
		"`kubectl flows render`":                      "kubectl-flows-render",
		"Job variables a run may set: `runOverrides`": "job-variables-a-run-may-set-runoverrides",
		"Run requests: the contract":                  "run-requests-the-contract",
		"See [the guide](g.md) now":                   "see-the-guide-now",
		"snake_case and Größe":                        "snake_case-and-größe",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    Block
		want []Command
	}{
		{"comments, continuation, prompts", Block{Lang: "sh", Line: 10, Text: "# setup\n" +
			"$ make demo   # everything\n" +
			"kubectl flows render \\\n" +
			"    --check -o 'my dir'\n" +
			"\n" +
			`kubectl flows run a/b -p "name=Ford Prefect" -j x=\#1`},
			[]Command{
				{12, []string{"make", "demo"}},
				{13, []string{"kubectl", "flows", "render", "--check", "-o", "my dir"}},
				{16, []string{"kubectl", "flows", "run", "a/b", "-p", "name=Ford Prefect", "-j", "x=#1"}},
			}},
		{"console shows commands only after a prompt", Block{Lang: "console", Line: 1, Text: "$ kubectl flows render\n" +
			"rendered flows.yaml\n" +
			"$ kubectl flows import \\\n" +
			"    --pool-limit k=10\n" +
			"wrote flows.yaml"},
			[]Command{
				{2, []string{"kubectl", "flows", "render"}},
				{4, []string{"kubectl", "flows", "import", "--pool-limit", "k=10"}},
			}},
		{"lists, pipes, substitutions, assignments, redirections", Block{Lang: "sh", Line: 1, Text: "kubectl flows init hello && cd hello\n" +
			"A=1 B=$(bash build.sh | tail -1) go test ./x > out.txt 2>&1 | tee log\n" +
			"kubectl flows completion bash|zsh >/dev/null; echo ok"},
			[]Command{
				{2, []string{"kubectl", "flows", "init", "hello"}},
				{2, []string{"cd", "hello"}},
				{3, []string{"go", "test", "./x"}},
				{3, []string{"tee", "log"}},
				{4, []string{"kubectl", "flows", "completion", "bash|zsh"}},
				{4, []string{"echo", "ok"}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Commands(tc.b); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Commands:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
