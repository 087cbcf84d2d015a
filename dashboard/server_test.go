package dashboard

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// fakeBackend serves fixed data: these tests check the server's own
// rules (tokens, hosts, escaping, forms); the pages against a real cluster
// are tested in test/e2e/dashboard_test.go.
type fakeBackend struct {
	snap      *Snapshot
	submitted map[string]any
}

func (f *fakeBackend) Snapshot() *Snapshot { return f.snap }
func (f *fakeBackend) RunPage(ctx context.Context, name string) (*RunPage, error) {
	for _, r := range f.snap.Runs {
		if r.Name == name {
			p := &RunPage{Run: r, Parameters: "who: <script>alert(1)</script>\n"}
			if name == "a-2" { // a-1 started it
				p.Parent, p.ParentState = "a-1", "Completed"
			}
			if name == "a-1" {
				p.Children = []client.RunView{f.snap.Runs[1]}
			}
			return p, nil
		}
	}
	return nil, ErrNotFound
}
func (f *fakeBackend) Submit(ctx context.Context, d string, p map[string]any) (string, error) {
	f.submitted = p
	return "run-1", nil
}
func (f *fakeBackend) Cancel(ctx context.Context, run string) error                 { return nil }
func (f *fakeBackend) StreamLog(ctx context.Context, run string, w io.Writer) error { return nil }
func (f *fakeBackend) Permissions(ctx context.Context) Permissions {
	return Permissions{Submit: true, Cancel: true}
}

func newTestServer(t *testing.T) (*Server, *fakeBackend, *httptest.Server) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	one := int32(1)
	info := &client.RunInfo{ConfigMap: &corev1.ConfigMap{}, Status: &v1alpha1.RunStatus{}}
	fb := &fakeBackend{snap: &Snapshot{
		Namespace: "ns", Now: now,
		Runs: []client.RunView{
			{Name: "a-1", Deployment: "a/b", State: "Completed", Queue: "p/default", Created: now.Add(-10 * time.Minute), Pending: now.Add(-9 * time.Minute), Ended: now.Add(-8 * time.Minute), Seconds: 60, Final: true, Info: info},
			{Name: "a-2", Deployment: "a/b", State: "Late", Tags: []string{"<b>db</b>"}, Created: now.Add(-time.Minute), WaitingOn: "tag <b>db</b>", Info: info},
			{Name: "a-3", Deployment: "a/b", State: "Scheduled", Created: now.Add(-time.Minute), Retry: "Retrying (attempt 2 of 3, in 40s: Evicted)", Info: info,
				Attempts: []v1alpha1.AttemptStatus{{Attempt: 1, JobName: "a-3", Outcome: "Evicted", Reason: "Evicted", Message: "pod a-3-x: <b>evicted</b>"}}},
		},
		Deployments: []client.DeploymentView{{Name: "a/b", Pool: "p", Queue: "default", Limit: &one,
			Config: &project.InstalledDeployment{Deployment: v1alpha1.Deployment{
				ParameterSchema: map[string]any{"type": "object", "properties": map[string]any{
					"count": map[string]any{"type": "integer", "minimum": 1.0, "maximum": 10.0},
					"on":    map[string]any{"type": "boolean"},
					"items": map[string]any{"type": "array"},
				}},
				Parameters: map[string]any{"count": 2.0}}},
			Schedules: []client.ScheduleView{
				{Text: "0 9 * * * (Europe/London)", Active: true, CatchUp: "Latest", Next: []time.Time{now.Add(21 * time.Hour)}},
				{Text: "every 1h0m0s", CatchUp: "All (max 5)", Parameters: `{"count":3,"who":"<script>alert(1)</script>"}`},
			}}},
		Limits: []client.LimitView{{Kind: "tag", Name: "<b>db</b>", InUse: 1, Limit: &one, Waiting: 1,
			Rate: &client.StartRate{Rate: "10/m", Burst: 3, Next: now.Add(4 * time.Second), NextText: "in 4s"}}},
	}}
	ts := httptest.NewServer(nil)
	s, err := New(fb, ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = s.Handler()
	t.Cleanup(ts.Close)
	return s, fb, ts
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPagesEscape(t *testing.T) {
	_, _, ts := newTestServer(t)
	for _, path := range []string{"/", "/runs/a-2", "/runs/a-3", "/limits", "/deployments"} {
		code, body := get(t, ts.URL+path)
		if code != 200 {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
		if strings.Contains(body, "<b>db</b>") || strings.Contains(body, "<script>alert") {
			t.Errorf("%s: markup from data is not escaped", path)
		}
	}
	if code, _ := get(t, ts.URL+"/runs/nope"); code != 404 {
		t.Errorf("unknown run: %d, want 404", code)
	}
}

func TestPostNeedsToken(t *testing.T) {
	s, fb, ts := newTestServer(t)
	form := url.Values{"deployment": {"a/b"}, "p.count": {"3"}, "p.items": {"[1,2]"}, "shown.on": {"1"}}
	resp, err := http.PostForm(ts.URL+"/run", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || fb.submitted != nil {
		t.Fatalf("POST without token: %d, submitted %v", resp.StatusCode, fb.submitted)
	}
	form.Set("csrf", s.Token())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.PostForm(ts.URL+"/run", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/runs/run-1" {
		t.Fatalf("POST with token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if fb.submitted["count"] != int64(3) || fb.submitted["on"] != false || len(fb.submitted["items"].([]any)) != 2 {
		t.Errorf("parameters %#v", fb.submitted)
	}
}

func TestHostChecked(t *testing.T) {
	_, _, ts := newTestServer(t)
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Host = "attacker.example:80"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %d, want 403", resp.StatusCode)
	}
}

func TestFields(t *testing.T) {
	fs := Fields(map[string]any{"required": []any{"name"}, "properties": map[string]any{
		"name":  map[string]any{"type": "string", "position": 1.0},
		"mode":  map[string]any{"enum": []any{"a", "b"}, "position": 0.0},
		"limit": map[string]any{"type": "integer", "minimum": 0.0},
	}}, map[string]any{"limit": 5.0})
	if len(fs) != 3 || fs[0].Name != "mode" || fs[0].Kind != "enum" || fs[1].Name != "name" || !fs[1].Required || fs[2].Value != "5" || fs[2].Min != "0" {
		t.Errorf("fields %+v", fs)
	}
}

// TestRunPageFamily: the Run page links a run's parent and its children.
func TestRunPageFamily(t *testing.T) {
	_, _, ts := newTestServer(t)
	_, body := get(t, ts.URL+"/runs/a-2")
	if !strings.Contains(body, `<dd id="run-parent"><a href="/runs/a-1">a-1</a>`) {
		t.Errorf("the child's page does not link its parent:\n%s", body)
	}
	_, body = get(t, ts.URL+"/runs/a-1")
	if !strings.Contains(body, `id="run-children"`) || !strings.Contains(body, `<a href="/runs/a-2">a-2</a>`) {
		t.Errorf("the parent's page does not list its child:\n%s", body)
	}
}

// TestDeploymentSchedules: each schedule with whether it is active, its
// catch-up when not the default, and its own parameters.
func TestDeploymentSchedules(t *testing.T) {
	_, _, ts := newTestServer(t)
	_, body := get(t, ts.URL+"/deployments")
	for _, want := range []string{
		"<li>0 9 * * * (Europe/London) — next: 2026-12-02 09:00:00Z</li>",
		"<li>every 1h0m0s (inactive), catch-up All (max 5), parameters <code>{&#34;count&#34;:3,&#34;who&#34;:&#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;}</code></li>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/deployments lacks %s", want)
		}
	}
}

// A retried run shows where its retry is and lists its attempts; a tag
// limit its rate and next start.
func TestRetriesAndRatesShown(t *testing.T) {
	_, _, ts := newTestServer(t)
	_, body := get(t, ts.URL+"/runs/a-3")
	for _, want := range []string{`<dd id="run-retry">Retrying (attempt 2 of 3, in 40s: Evicted)</dd>`, `id="run-attempts"`, "<td>a-3</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q:\n%s", want, body)
		}
	}
	_, body = get(t, ts.URL+"/limits")
	if !strings.Contains(body, "<td>10/m, burst 3</td><td class=\"next-start\">in 4s</td>") {
		t.Errorf("limits page lacks the rate and next start:\n%s", body)
	}
}
