package plugin

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/dashboard"
	"github.com/kubectl-flows/kubectl-flows/internal/golden"
)

// shown is what a format says of a run: the state shown (Late for a
// Scheduled run past its time, where its retry is for a run awaiting
// one), the tags it counts against and whether a cancel was asked for.
type shown struct {
	State  string
	Tags   string
	Cancel bool
}

// TestOneRunViewFourFormats prints every run of one fixture snapshot as
// get's table, describe, get -o yaml and the dashboard's pages, each
// checked against its golden file, and checks that the four say the same
// state, tags (the deployment's and the request's) and cancel status of
// each run: they all print client.RunView.
func TestOneRunViewFourFormats(t *testing.T) {
	fc := newFakeCluster(t, true)
	kf := func(args ...string) string {
		out, errOut, code := fc.kf(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	table, objects := kf("get", "runs", "-o", "wide"), kf("get", "runs", "-o", "yaml")
	names := strings.Fields(kf("get", "runs", "-o", "name"))
	var describes strings.Builder
	byFormat := map[string]map[string]shown{"table": fromTable(t, table), "yaml": fromObjects(t, objects), "describe": {}, "dashboard": {}}
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, "run.kubectl-flows.dev/")
		d := kf("describe", "run", names[i])
		describes.WriteString(d + "---\n")
		byFormat["describe"][names[i]] = fromDescribe(d)
	}
	html := dashboardPages(t, fc, names, byFormat["dashboard"])

	dir := filepath.Join("testdata", "views")
	golden.Check(t, filepath.Join(dir, "runs-table.txt"), []byte(table))
	golden.Check(t, filepath.Join(dir, "runs-describe.txt"), []byte(describes.String()))
	golden.Check(t, filepath.Join(dir, "runs.yaml"), []byte(objects))
	golden.Check(t, filepath.Join(dir, "runs-dashboard.html"), []byte(html))

	if len(names) != 9 {
		t.Fatalf("%d runs in the fixture", len(names))
	}
	for _, n := range names {
		want := byFormat["table"][n]
		for format, runs := range byFormat {
			if got := runs[n]; got != want {
				t.Errorf("run %s: %s shows %+v, get's table %+v", n, format, got, want)
			}
		}
	}
	// The fixture has what the formats used to disagree on.
	for n, want := range map[string]shown{
		"hello-arthur-waiting":   {"Scheduled", "hello,adhoc", false},
		"hello-default-stopping": {"Running", "hello", true},   // the cancel annotation
		"hello-default-later":    {"Scheduled", "hello", true}, // a cancel request
		"hello-default-late":     {"Late", "hello", false},
		"hello-default-retrying": {"Retrying (attempt 2 of 3, in 40s: Evicted)", "hello", false},
	} {
		if got := byFormat["table"][n]; got != want {
			t.Errorf("run %s shows %+v, want %+v", n, got, want)
		}
	}
}

// fromTable reads get -o wide by its columns.
func fromTable(t *testing.T, table string) map[string]shown {
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	col := func(line, name string) string {
		start := strings.Index(lines[0], name)
		end := len(line)
		if next := regexp.MustCompile(`\s[A-Z]`).FindStringIndex(lines[0][start:]); next != nil && start+next[1]-1 < len(line) {
			end = start + next[1] - 1
		}
		return strings.TrimSpace(line[start:end])
	}
	out := map[string]shown{}
	for _, l := range lines[1:] {
		state, cancel := strings.CutSuffix(col(l, "STATE"), " (cancel requested)")
		out[col(l, "NAME")] = shown{state, col(l, "TAGS"), cancel}
	}
	return out
}

// fromObjects reads get -o yaml.
func fromObjects(t *testing.T, objects string) map[string]shown {
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Status   struct {
				v1alpha1.RunStatus `json:",inline"`
				Late               bool
				CancelRequested    bool `json:"cancelRequested"`
			}
		}
	}
	if err := yaml.Unmarshal([]byte(objects), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]shown{}
	for _, it := range list.Items {
		st := it.Status
		state := string(st.State)
		switch retry := v1alpha1.RetryText(&st.RunStatus, clock); {
		case retry != "":
			state = retry
		case st.Late:
			state = "Late"
		}
		out[it.Metadata.Name] = shown{state, strings.Join(st.Tags, ","), st.CancelRequested}
	}
	return out
}

// fromDescribe reads describe run.
func fromDescribe(d string) shown {
	field := func(label string) string {
		m := regexp.MustCompile(`(?m)^` + label + `:\s+(.*)$`).FindStringSubmatch(d)
		if m == nil {
			return ""
		}
		return strings.TrimSpace(m[1])
	}
	state, cancel := strings.CutSuffix(field("State"), " (cancel requested)")
	return shown{state, strings.ReplaceAll(field("Tags"), ", ", ","), cancel && field("Cancel") != ""}
}

// dashboardPages serves the dashboard over the fake cluster and returns
// the runs table and each run's heading and facts, reading what they show
// of each run into seen. A run's row and its page must agree.
func dashboardPages(t *testing.T, fc *fakeCluster, names []string, seen map[string]shown) string {
	get := serveDashboard(t, fc)
	var out strings.Builder
	runs := regexp.MustCompile(`(?s)<table class="runs" id="runs">.*?</table>`).FindString(get("/"))
	out.WriteString(runs + "\n")
	row := regexp.MustCompile(`(?s)<tr data-run="([^"]+)".*?<span class="state [^"]*"[^>]*>([^<]*)</span>( <small class="retry">([^<]*)</small>)?( <span class="cancel-requested">)?.*?</td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>`)
	for _, m := range row.FindAllStringSubmatch(runs, -1) {
		state := m[2]
		if m[4] != "" {
			state = m[4]
		}
		seen[m[1]] = shown{state, strings.ReplaceAll(m[6], ", ", ","), m[5] != ""}
	}
	page := regexp.MustCompile(`(?s)<h1>Run .*?</h1>.*?<dl class="facts">.*?</dl>`)
	for _, n := range names {
		p := page.FindString(get("/runs/" + n))
		out.WriteString(p + "\n")
		state := regexp.MustCompile(`id="run-state">([^<]*)</span>`).FindStringSubmatch(p)
		tags := regexp.MustCompile(`<dt>Tags</dt><dd>([^<]*)</dd>`).FindStringSubmatch(p)
		if state == nil || tags == nil {
			t.Fatalf("run page of %s lacks its state or tags:\n%s", n, p)
		}
		if retry := regexp.MustCompile(`id="run-retry">([^<]*)</dd>`).FindStringSubmatch(p); retry != nil {
			state[1] = retry[1]
		}
		onPage := shown{state[1], strings.ReplaceAll(tags[1], ", ", ","), strings.Contains(p, `id="run-cancel"`)}
		if onPage != seen[n] {
			t.Errorf("run %s: its dashboard row shows %+v, its page %+v", n, seen[n], onPage)
		}
	}
	if len(seen) != len(names) || !slices.Equal(slices.Sorted(maps.Keys(seen)), slices.Sorted(slices.Values(names))) {
		t.Errorf("the dashboard lists %v, get %v", slices.Sorted(maps.Keys(seen)), names)
	}
	return out.String()
}

// TestLimitsFourFormats: who holds each limit's slots and who waits in
// line for one, as get limits -o wide, describe and the dashboard's limits
// page list them, over the fixture snapshot.
func TestLimitsFourFormats(t *testing.T) {
	fc := newFakeCluster(t, true)
	table, _, _ := fc.kf(t, "get", "limits", "-o", "wide")
	objects, _, _ := fc.kf(t, "get", "limits", "-o", "yaml")
	var describes strings.Builder
	for _, args := range [][]string{{"pool", "kubernetes"}, {"queue", "kubernetes/default"}, {"tag", "hello"}, {"tag", "adhoc"}} {
		out, errOut, code := fc.kf(t, append([]string{"describe"}, args...)...)
		if code != 0 {
			t.Fatalf("describe %v: %d %s", args, code, errOut)
		}
		describes.WriteString(out + "---\n")
	}
	page := regexp.MustCompile(`(?s)<table class="limits" id="limits">.*`).FindString(serveDashboard(t, fc)("/limits"))
	dir := filepath.Join("testdata", "views")
	golden.Check(t, filepath.Join(dir, "limits-table.txt"), []byte(table))
	golden.Check(t, filepath.Join(dir, "limits.yaml"), []byte(objects))
	golden.Check(t, filepath.Join(dir, "limits-describe.txt"), []byte(describes.String()))
	golden.Check(t, filepath.Join(dir, "limits-dashboard.html"), []byte(page))

	lines := strings.Split(strings.TrimSpace(table), "\n")
	holders := regexp.MustCompile(`(?s)<tr data-limit="([^"]+)".*?<td class="holders">(.*?)</td>`)
	onPage := map[string]string{}
	for _, m := range holders.FindAllStringSubmatch(page, -1) {
		runs := regexp.MustCompile(`<a href="/runs/[^"]+">([^<]+)</a>`).FindAllStringSubmatch(m[2], -1)
		var names []string
		for _, r := range runs {
			names = append(names, r[1])
		}
		onPage[m[1]] = strings.Join(names, ",")
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		id, held := f[0]+" "+f[1], f[len(f)-1]
		if held == "<none>" {
			held = ""
		}
		if onPage[id] != held {
			t.Errorf("%s: get limits says held by %q, the dashboard %q", id, held, onPage[id])
		}
	}
	if len(onPage) != len(lines)-1 {
		t.Errorf("the dashboard lists %d limits, get %d", len(onPage), len(lines)-1)
	}
}

// serveDashboard serves the dashboard over the fake cluster and returns a
// GET of its pages, the form token blanked.
func serveDashboard(t *testing.T, fc *fakeCluster) func(path string) string {
	c := client.New(fc.client, client.Options{Namespace: "flows", Now: func() time.Time { return clock }})
	b := dashboard.NewClusterBackend(c)
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	srv, err := dashboard.New(b, ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	if !b.Start(ctx, &wg, func() {}) {
		t.Fatal("the dashboard's caches did not fill")
	}
	get := func(path string) string {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
		}
		return strings.ReplaceAll(string(body), srv.Token(), "TOKEN")
	}
	return get
}

// TestRateWaitShown: a run whose slots are free but whose tag's start rate
// has no start left waits on that rate, and get, describe, -o json and the
// dashboard say so, with the rate's next start as get limits shows it.
func TestRateWaitShown(t *testing.T) {
	// Tag hello has room (3 of 10 in use); one start a minute, the last
	// made by hello-default-retrying's first attempt 50s ago.
	fc := newFakeClusterLimits(t, true, "- tag: hello\n  limit: 10\n  rate: 1/m\n- tag: adhoc\n  limit: 1\n")
	const want = "rate of tag hello (next start in 10s)"
	kf := func(args ...string) string {
		out, errOut, code := fc.kf(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	if out := kf("get", "runs", "hello-default-late"); !strings.Contains(out, want) {
		t.Errorf("get runs does not say %q:\n%s", want, out)
	}
	if out := kf("describe", "run", "hello-default-late"); !regexp.MustCompile(`(?m)^Waiting On:\s+` + regexp.QuoteMeta(want) + `$`).MatchString(out) {
		t.Errorf("describe run does not say %q:\n%s", want, out)
	}
	if out := kf("get", "runs", "hello-default-late", "-o", "jsonpath={.status.waitingOn}"); out != want {
		t.Errorf("status.waitingOn is %q, want %q", out, want)
	}
	if out := kf("get", "limits"); !regexp.MustCompile(`(?m)^tag\s+hello\s+3/10\s+\d+\s+\S+\s+1/m, burst 1\s+in 10s\s*$`).MatchString(out) {
		t.Errorf("get limits does not give tag hello's rate and next start in 10s:\n%s", out)
	}
	if out := kf("describe", "tag", "hello"); !strings.Contains(out, "Next Start:         in 10s") {
		t.Errorf("describe tag does not say the next start is in 10s:\n%s", out)
	}
	page := serveDashboard(t, fc)("/runs/hello-default-late")
	if !strings.Contains(page, `<dd id="run-waiting-on">`+want+`</dd>`) {
		t.Errorf("the dashboard's run page does not say %q", want)
	}
}
