package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// dashboardProject has a deployment whose runs take a few seconds (to see
// a run complete live) with a parameter schema for the Run form, and one
// whose runs hold a tag limit of 1 for an hour (to see the limit bind).
const dashboardProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: web
namespace: NS
pools:
  - name: main
    baseJobTemplate: template.json
concurrencyLimits:
  - tag: db
    limit: 1
deployments:
  - flow: web
    name: quick
    entrypoint: flows/quick.py:quick
    pool: main
    parameters: {count: 1, who: world}
    parameterSchema:
      type: object
      properties:
        count: {type: integer, minimum: 1, maximum: 10}
        who: {type: string}
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 4s}
  - flow: web
    name: slow
    entrypoint: flows/slow.py:slow
    pool: main
    tags: [db]
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 1h}
`

// TestDashboard drives `kubectl flows dashboard` in a real headless
// Chromium against a running reconciler.
func TestDashboard(t *testing.T) {
	t.Parallel()
	browser := findBrowser(t)
	e := newEnv(t, dashboardProject, map[string]string{"template.json": testTemplate})
	e.startReconciler("")
	ctx := context.Background()
	base := startDashboard(t, cp.Kubeconfig, e.ns)
	b := newBrowser(t, browser)
	shots := artifactsDir(t)

	t.Run("runs page updates live", func(t *testing.T) {
		b.t = t
		b.navigate(base)
		evalAs[string](b, `window.__kept = "yes"`)
		e.createRun(ctx, "quick-live", "deployment: web/quick\n")
		b.waitJS(`document.querySelector('tr[data-run="quick-live"] .state') !== null`, 30*time.Second, "quick-live listed")
		if first := evalAs[string](b, `document.querySelector('tr[data-run="quick-live"] .state').textContent`); first == "Completed" {
			t.Fatalf("quick-live first shown %s; want it seen before it ends", first)
		}
		b.waitJS(`(document.querySelector('tr[data-run="quick-live"] .state')||{}).textContent === "Completed"`, 60*time.Second, "quick-live shown Completed")
		if kept := evalAs[string](b, `window.__kept`); kept != "yes" {
			t.Error("the runs page was reloaded; it should update in place")
		}
		b.waitJS(`document.querySelector('svg.tl-row rect.state-completed') !== null`, 10*time.Second, "a Completed bar on the timeline")
	})

	t.Run("HTML in a parameter is text", func(t *testing.T) {
		b.t = t
		e.createRun(ctx, "quick-xss", "deployment: web/quick\nparameters: {who: \"<script>window.__xss=1</script><img src=x onerror=window.__xss=2>\"}\n")
		// The run's page is served from the dashboard's watch: once the
		// runs page lists the run, its page is there.
		b.navigate(base)
		b.waitJS(`document.querySelector('tr[data-run="quick-xss"]') !== null`, 30*time.Second, "quick-xss listed")
		b.navigate(base + "runs/quick-xss")
		got := evalAs[struct {
			Text    string
			XSS     any
			Scripts int
			Imgs    int
		}](b, `({Text: document.getElementById("parameters").textContent, XSS: window.__xss === undefined ? null : window.__xss,
			Scripts: document.querySelectorAll("script").length, Imgs: document.querySelectorAll("img").length})`)
		if !strings.Contains(got.Text, "<script>window.__xss=1</script>") || got.XSS != nil || got.Scripts != 1 || got.Imgs != 0 {
			t.Errorf("parameter with markup: text %q, __xss %v, %d script and %d img elements (want the markup as text, nothing run)", got.Text, got.XSS, got.Scripts, got.Imgs)
		}
	})

	t.Run("limits page names the binding tag limit", func(t *testing.T) {
		b.t = t
		e.createRun(ctx, "slow-a", "deployment: web/slow\n")
		e.waitFor(ctx, 60*time.Second, "slow-a to hold the db slot", func(m map[string]*v1alpha1.RunStatus) bool {
			return m["slow-a"] != nil && m["slow-a"].State.HoldsSlot()
		})
		e.createRun(ctx, "slow-b", "deployment: web/slow\n")
		b.navigate(base + "limits")
		b.waitJS(`(document.querySelector('tr[data-run="slow-b"] .blocking')||{}).textContent === "tag db"`, 30*time.Second, "slow-b blocked by tag db")
		row := evalAs[struct{ Slots, Waiting string }](b, `({Slots: document.querySelector('tr[data-limit="tag db"] .slots').textContent.trim(),
			Waiting: document.querySelector('tr[data-limit="tag db"] .waiting').textContent.trim()})`)
		if row.Slots != "1 / 1" || row.Waiting != "1" {
			t.Errorf("tag db row: slots %q waiting %q, want 1 / 1 and 1", row.Slots, row.Waiting)
		}
		// Who holds the slot, and slow-b's place in line, linked both ways.
		links := evalAs[struct{ Holder, Position, Limit string }](b, `({Holder: document.querySelector('tr[data-limit="tag db"] .holders a').textContent,
			Position: document.querySelector('tr[data-run="slow-b"] .position').textContent,
			Limit: document.querySelector('tr[data-run="slow-b"] .blocking a').getAttribute("href")})`)
		if links.Holder != "slow-a" || links.Position != "1" || links.Limit != "#limit-tag-db" {
			t.Errorf("limits page: tag db held by %q, slow-b %q in line, linked to %q; want slow-a, 1, #limit-tag-db", links.Holder, links.Position, links.Limit)
		}
		b.screenshot(filepath.Join(shots, "limits.png"))
	})

	t.Run("cancel", func(t *testing.T) {
		b.t = t
		b.navigate(base + "runs/slow-a")
		b.click("#cancel")
		b.waitJS(`location.pathname === "/runs/slow-a" && (document.getElementById("run-state")||{}).textContent === "Cancelled"`, 30*time.Second, "slow-a Cancelled")
		b.screenshot(filepath.Join(shots, "run.png"))
		// slow-b gets the slot; the limits page follows without reload.
		b.navigate(base + "limits")
		b.waitJS(`document.querySelector('tr[data-run="slow-b"]') === null`, 30*time.Second, "slow-b no longer waiting")
	})

	t.Run("run form validates in the browser and on submit", func(t *testing.T) {
		b.t = t
		before := len(e.statuses(ctx))
		b.navigate(base + "deployments")
		b.click(`section[data-deployment="web/quick"] summary`)
		b.setValue(`section[data-deployment="web/quick"] input[name="p.count"]`, "50")
		b.click(`section[data-deployment="web/quick"] button.submit-run`)
		time.Sleep(500 * time.Millisecond)
		st := evalAs[struct {
			Path  string
			Valid bool
		}](b, `({Path: location.pathname, Valid: document.querySelector('section[data-deployment="web/quick"] input[name="p.count"]').validity.valid})`)
		if st.Path != "/deployments" || st.Valid {
			t.Errorf("count=50 (maximum 10): page %s, input valid %v; want the browser to refuse it", st.Path, st.Valid)
		}
		if n := len(e.statuses(ctx)); n != before {
			t.Errorf("%d runs after a refused form, want %d", n, before)
		}
		// The server checks again, through the run command's validation.
		resp := evalAs[struct {
			Status int
			Body   string
		}](b, `(async () => {
			const f = new FormData();
			f.append("csrf", document.querySelector('meta[name="csrf-token"]').content);
			f.append("deployment", "web/quick");
			f.append("p.count", "50");
			const r = await fetch("/run", {method: "POST", body: new URLSearchParams(f)});
			return {Status: r.status, Body: await r.text()};
		})()`)
		if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(resp.Body, "not submitted") || !strings.Contains(resp.Body, "count") || !strings.Contains(resp.Body, "must be at most 10, got 50") {
			t.Errorf("server-side check of count=50: %d, body lacks the parameter:\n%.600s", resp.Status, resp.Body)
		}
		b.setValue(`section[data-deployment="web/quick"] input[name="p.count"]`, "3")
		b.click(`section[data-deployment="web/quick"] button.submit-run`)
		// The new page's location is set when its navigation commits,
		// before its body is parsed: wait for the element read next.
		b.waitJS(`location.pathname.startsWith("/runs/web-quick-") && document.getElementById("run-name") !== null`, 15*time.Second, "the new run's page")
		name := evalAs[string](b, `document.getElementById("run-name").textContent`)
		cm, err := cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the run the form made: %v", err)
		}
		req, err := v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun])
		if err != nil || req.Parameters["count"] != float64(3) && req.Parameters["count"] != int64(3) {
			t.Errorf("run %s request: %+v %v, want count 3", name, req, err)
		}
		b.navigate(base + "deployments")
		b.screenshot(filepath.Join(shots, "deployments.png"))
		b.navigate(base)
		b.screenshot(filepath.Join(shots, "runs.png"))
	})

	t.Run("token and host are required", func(t *testing.T) {
		resp, err := http.PostForm(base+"run", url.Values{"deployment": {"web/quick"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST without the token: %d, want 403", resp.StatusCode)
		}
		req, _ := http.NewRequest("GET", base, nil)
		req.Host = "evil.example:80"
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET for another Host: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("a viewer sees no buttons and is refused", func(t *testing.T) {
		b.t = t
		viewer := viewerKubeconfig(t, e.ns)
		vbase := startDashboard(t, viewer, e.ns)
		b.navigate(vbase + "deployments")
		n := evalAs[int](b, `document.querySelectorAll("form.params, summary.button").length`)
		if n != 0 {
			t.Errorf("a viewer sees %d Run forms/buttons", n)
		}
		b.navigate(vbase + "runs/slow-b")
		n = evalAs[int](b, `document.querySelectorAll("#cancel, #run-again").length`)
		if n != 0 {
			t.Errorf("a viewer sees %d Cancel/Run again buttons", n)
		}
		codes := evalAs[[]int](b, `(async () => {
			const tok = document.querySelector('meta[name="csrf-token"]').content;
			const post = (u, f) => fetch(u, {method: "POST", body: new URLSearchParams(f)}).then(r => r.status);
			return [await post("/run", {csrf: tok, deployment: "web/quick"}), await post("/runs/slow-b/cancel", {csrf: tok})];
		})()`)
		if len(codes) != 2 || codes[0] != http.StatusForbidden || codes[1] != http.StatusForbidden {
			t.Errorf("a viewer posting Run and Cancel: %v, want [403 403]", codes)
		}
	})
}

// findBrowser finds Chromium; without one the test fails under CI and
// is skipped elsewhere, saying how to install it.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KUBECTL_FLOWS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (set KUBECTL_FLOWS_CHROMIUM, or as root: apt-get update && apt-get install -y chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI must have one")
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where screenshots go: $KUBECTL_FLOWS_ARTIFACTS, or a
// directory under the temporary directory that outlives the test.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("KUBECTL_FLOWS_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "kubectl-flows-artifacts")
	}
	dir = filepath.Join(dir, "dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// startDashboard runs `kubectl-flows dashboard` with a kubeconfig and
// returns its URL.
func startDashboard(t *testing.T, kubeconfig, ns string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "kubectl-flows"), "dashboard", "-n", ns, "--port", "0")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the dashboard did not stop within 5s of SIGTERM")
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 {
				urls <- sc.Text()[i:]
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case u := <-urls:
		return u
	case <-time.After(30 * time.Second):
		t.Fatalf("the dashboard printed no URL in 30s; stderr:\n%s", stderr.String())
	}
	return ""
}

// viewerKubeconfig is a ServiceAccount that may read the project and
// nothing more.
func viewerKubeconfig(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	_, err := cp.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "viewer"}}, metav1.CreateOptions{})
	must(t, err)
	read := []string{"get", "list", "watch"}
	_, err = cp.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "flows-viewer"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps", "pods", "pods/log", "events"}, Verbs: read},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: read},
		},
	}, metav1.CreateOptions{})
	must(t, err)
	_, err = cp.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "flows-viewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "flows-viewer"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "viewer", Namespace: ns}},
	}, metav1.CreateOptions{})
	must(t, err)
	kc, err := cp.KubeconfigForServiceAccount(ctx, ns, "viewer")
	must(t, err)
	return kc
}

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return &browser{t: t, ctx: ctx}
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) navigate(u string) { b.t.Helper(); b.do("open "+u, chromedp.Navigate(u)) }

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func (b *browser) setValue(sel, v string) {
	b.t.Helper()
	b.do("set "+sel, chromedp.SetValue(chromedp.CSS(sel), v))
}

// evalAs evaluates JavaScript in the page (awaiting a promise) and
// returns its value.
func evalAs[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is true in the page.
func (b *browser) waitJS(js string, timeout time.Duration, what string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			b.t.Fatalf("waiting %v for %s (%s): last error %v; page:\n%.2000s", timeout, what, js, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (b *browser) screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
