// Package dashboard is the web server of `kubectl flows dashboard`: pages
// drawn with html/template (so every value is escaped) from a Backend the
// plugin implements over its watches, live updates by Server-Sent Events,
// and forms that post back through the Backend with a per-process token.
// Its assets are embedded: there is no JavaScript build step.
package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/project"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the dashboard.
type Server struct {
	backend Backend
	token   string
	// hosts are the Host headers accepted: the address the server listens
	// on and its loopback names. Empty accepts any (a non-loopback bind).
	hosts map[string]bool
	pages map[string]*template.Template

	mu      sync.Mutex
	subs    map[chan struct{}]bool
	pending bool
}

// New returns a server over backend. addr is the address it listens on
// (host:port), used to refuse requests for other hosts (DNS rebinding).
func New(backend Backend, addr string) (*Server, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	s := &Server{backend: backend, token: hex.EncodeToString(b), subs: map[chan struct{}]bool{}}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
		s.hosts = map[string]bool{}
		for _, h := range []string{host, "localhost", "127.0.0.1", "[::1]", "::1"} {
			s.hosts[net.JoinHostPort(strings.Trim(h, "[]"), port)] = true
		}
	}
	s.pages = map[string]*template.Template{}
	for _, page := range []string{"runs", "run", "limits", "deployments"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", page, err)
		}
		s.pages[page] = t
	}
	return s, nil
}

// Token is the per-process token state-changing requests carry.
func (s *Server) Token() string { return s.token }

// Handler routes requests.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.runs)
	mux.HandleFunc("GET /runs/{name}", s.run)
	mux.HandleFunc("GET /runs/{name}/log", s.log)
	mux.HandleFunc("POST /runs/{name}/cancel", s.cancel)
	mux.HandleFunc("GET /limits", s.limits)
	mux.HandleFunc("GET /deployments", s.deployments)
	mux.HandleFunc("POST /run", s.submit)
	mux.HandleFunc("GET /events", s.events)
	return s.guard(mux)
}

// guard refuses requests for another host, and state-changing requests
// without the token or from another origin; it sets headers that keep
// the pages from running anything but the embedded script.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hosts != nil && !s.hosts[r.Host] {
			http.Error(w, "unexpected Host header: the dashboard answers only on its own address", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin") // "no-referrer" would make form posts say Origin: null
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o != "" {
				if u, err := url.Parse(o); err != nil || u.Host != r.Host {
					http.Error(w, "cross-origin request refused", http.StatusForbidden)
					return
				}
			}
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				tok = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
				http.Error(w, "missing or wrong form token: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Notify tells open pages that something changed; pages refetch their
// live part. Bursts of calls within 200ms make one notification.
func (s *Server) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending {
		return
	}
	s.pending = true
	time.AfterFunc(200*time.Millisecond, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pending = false
		for ch := range s.subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	})
}

// Tick notifies pages periodically, for ages and Late runs, until ctx ends.
func (s *Server) Tick(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Notify()
		}
	}
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "retry: 1000\n\n")
	fl.Flush()
	n := 0
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ch:
			n++
			fmt.Fprintf(w, "event: change\ndata: %d\n\n", n)
			fl.Flush()
		}
	}
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string
	Token string
	Snap  *Snapshot
	Can   Permissions
	Data  any
	Error string
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, status int, p *page) {
	p.Token = s.token
	p.Nav = name
	t := s.pages[name]
	tmpl := "layout.html"
	if r.Header.Get("X-Live") != "" {
		tmpl = "live" // the part of the page live updates replace
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, tmpl, p); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail answers an error with its status: 403 when the API server forbids
// it (the user's own rights), 404, 422 for a request to fix, else 500.
func (s *Server) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case apierrors.IsForbidden(err):
		code = http.StatusForbidden
	case errors.Is(err, ErrNotFound), errors.As(err, new(*client.NotFoundError)):
		code = http.StatusNotFound
	case errors.As(err, new(*client.InvalidError)):
		code = http.StatusUnprocessableEntity
	}
	http.Error(w, err.Error(), code)
}

// RunsFilter is the runs table's filter, from the query string.
type RunsFilter struct {
	State, Deployment, Queue, Tag, Since string
}

// runsData is the runs page.
type runsData struct {
	Filter      RunsFilter
	Rows        []client.RunView // newest first
	States      []string
	Deployments []string
	Queues      []string
	Tags        []string
	Timeline    Timeline
}

var sinceOptions = map[string]time.Duration{"15m": 15 * time.Minute, "1h": time.Hour, "6h": 6 * time.Hour, "24h": 24 * time.Hour}

func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	snap := s.backend.Snapshot()
	q := r.URL.Query()
	f := RunsFilter{State: q.Get("state"), Deployment: q.Get("deployment"), Queue: q.Get("queue"), Tag: q.Get("tag"), Since: q.Get("since")}
	d := &runsData{Filter: f, States: []string{"Scheduled", "Late", "Pending", "Running", "Completed", "Failed", "Crashed", "Cancelling", "Cancelled", "Rejected"}}
	seen := map[string]map[string]bool{"d": {}, "q": {}, "t": {}}
	add := func(kind, v string, list *[]string) {
		if v != "" && !seen[kind][v] {
			seen[kind][v] = true
			*list = append(*list, v)
		}
	}
	for _, dep := range snap.Deployments {
		add("d", dep.Name, &d.Deployments)
	}
	for _, run := range snap.Runs {
		add("d", run.Deployment, &d.Deployments)
		add("q", run.Queue, &d.Queues)
		for _, t := range run.Tags {
			add("t", t, &d.Tags)
		}
	}
	sort.Strings(d.Queues)
	sort.Strings(d.Tags)
	since := sinceOptions[f.Since]
	for i := len(snap.Runs) - 1; i >= 0; i-- {
		run := snap.Runs[i]
		switch {
		case f.State != "" && string(run.State) != f.State,
			f.Deployment != "" && run.Deployment != f.Deployment,
			f.Queue != "" && run.Queue != f.Queue,
			f.Tag != "" && !contains(run.Tags, f.Tag),
			since > 0 && snap.Now.Sub(run.Created) > since:
			continue
		}
		d.Rows = append(d.Rows, run)
	}
	d.Timeline = buildTimeline(snap, time.Hour)
	s.render(w, r, "runs", http.StatusOK, &page{Title: "Runs", Snap: snap, Data: d})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	rp, err := s.backend.RunPage(r.Context(), r.PathValue("name"))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "run", http.StatusOK, &page{Title: "Run " + rp.Run.Name, Snap: s.backend.Snapshot(), Can: s.backend.Permissions(r.Context()), Data: rp})
}

func (s *Server) log(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "retry: 5000\n\n")
	fl.Flush()
	sw := &sseLines{w: w, fl: fl}
	err := s.backend.StreamLog(r.Context(), r.PathValue("name"), sw)
	sw.flushPartial()
	if err != nil && r.Context().Err() == nil {
		sw.send("end", err.Error())
		return
	}
	sw.send("end", "")
}

// sseLines sends what is written to it as one SSE message per line.
type sseLines struct {
	w    http.ResponseWriter
	fl   http.Flusher
	part []byte
}

func (s *sseLines) Write(p []byte) (int, error) {
	s.part = append(s.part, p...)
	for {
		i := strings.IndexByte(string(s.part), '\n')
		if i < 0 {
			break
		}
		s.send("line", string(s.part[:i]))
		s.part = s.part[i+1:]
	}
	return len(p), nil
}

func (s *sseLines) flushPartial() {
	if len(s.part) > 0 {
		s.send("line", string(s.part))
		s.part = nil
	}
}

func (s *sseLines) send(event, data string) {
	b, _ := json.Marshal(data) // one line, whatever the log holds
	fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, b)
	s.fl.Flush()
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.backend.Cancel(r.Context(), name); err != nil {
		s.fail(w, err)
		return
	}
	http.Redirect(w, r, "/runs/"+url.PathEscape(name), http.StatusSeeOther)
}

// limitsData is the queues and limits page.
type limitsData struct {
	Limits  []client.LimitView
	Waiting []client.RunView
}

func (s *Server) limits(w http.ResponseWriter, r *http.Request) {
	snap := s.backend.Snapshot()
	d := &limitsData{Limits: snap.Limits}
	for _, run := range snap.Runs {
		if run.State == v1alpha1.StateScheduled || run.State == v1alpha1.StateLate {
			d.Waiting = append(d.Waiting, run)
		}
	}
	s.render(w, r, "limits", http.StatusOK, &page{Title: "Queues and limits", Snap: snap, Data: d})
}

// deploymentView is a deployment on the deployments page.
type deploymentView struct {
	client.DeploymentView
	Fields []Field
	Recent []client.RunView // newest first, at most 20
	Chart  []Bar
	// Error and Form are a refused submission of this deployment's form.
	Error string
}

func (s *Server) deploymentViews(snap *Snapshot) []*deploymentView {
	var out []*deploymentView
	for _, d := range snap.Deployments {
		v := &deploymentView{DeploymentView: d, Fields: Fields(d.Config.ParameterSchema, d.Config.Parameters)}
		for i := len(snap.Runs) - 1; i >= 0 && len(v.Recent) < 20; i-- {
			if snap.Runs[i].Deployment == d.Name {
				v.Recent = append(v.Recent, snap.Runs[i])
			}
		}
		v.Chart = durationChart(v.Recent)
		out = append(out, v)
	}
	return out
}

func (s *Server) deployments(w http.ResponseWriter, r *http.Request) {
	snap := s.backend.Snapshot()
	s.render(w, r, "deployments", http.StatusOK, &page{Title: "Deployments", Snap: snap, Can: s.backend.Permissions(r.Context()), Data: s.deploymentViews(snap)})
}

// submit starts a run from a Run form (or a run's Run again button, which
// sends the run's parameters as JSON in "params").
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	snap := s.backend.Snapshot()
	name := r.PostFormValue("deployment")
	views := s.deploymentViews(snap)
	var view *deploymentView
	for _, v := range views {
		if v.Name == name {
			view = v
		}
	}
	if view == nil {
		s.fail(w, fmt.Errorf("deployment %q: %w", name, ErrNotFound))
		return
	}
	params := map[string]any{}
	if raw := r.PostFormValue("params"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &params); err != nil {
			s.fail(w, &client.InvalidError{Err: fmt.Errorf("params: %v", err)})
			return
		}
	}
	form, err := ParseParams(view.Fields, r.PostForm)
	if err == nil {
		for k, v := range form {
			params[k] = v
		}
		var run string
		run, err = s.backend.Submit(r.Context(), name, params)
		if err == nil {
			http.Redirect(w, r, "/runs/"+url.PathEscape(run), http.StatusSeeOther)
			return
		}
	}
	if !errors.As(err, new(*client.InvalidError)) {
		s.fail(w, err)
		return
	}
	// Show the form again with the error, keeping what was typed.
	view.Error = err.Error()
	for i, f := range view.Fields {
		if vals, ok := r.PostForm[f.InputName()]; ok && len(vals) > 0 {
			view.Fields[i].Value = vals[len(vals)-1]
		}
	}
	s.render(w, r, "deployments", http.StatusUnprocessableEntity, &page{Title: "Deployments", Snap: snap, Can: s.backend.Permissions(r.Context()), Data: views, Error: err.Error()})
}

// Timeline is the runs of a time window per deployment, as bars.
type Timeline struct {
	Start, End time.Time
	Rows       []TimelineRow
	Ticks      []Tick
}

// TimelineRow is one deployment's bars.
type TimelineRow struct {
	Deployment string
	Bars       []Bar
}

// Bar is a run drawn in a chart: left and width (or height) in percent.
type Bar struct {
	Run, State, Title string
	Left, Width       float64
}

// Tick is a time label on the timeline.
type Tick struct {
	Left  float64
	Label string
}

// buildTimeline draws the last window's runs: each from the time it took
// its slot (or was created, while it waits) to its end (or now).
func buildTimeline(snap *Snapshot, window time.Duration) Timeline {
	tl := Timeline{Start: snap.Now.Add(-window), End: snap.Now}
	span := float64(window)
	rows := map[string]*TimelineRow{}
	var order []string
	for _, r := range snap.Runs {
		from, to := r.Created, snap.Now
		if !r.Pending.IsZero() {
			from = r.Pending
		}
		if !r.Ended.IsZero() {
			to = r.Ended
		}
		if to.Before(tl.Start) || from.After(tl.End) {
			continue
		}
		if from.Before(tl.Start) {
			from = tl.Start
		}
		left := float64(from.Sub(tl.Start)) / span * 100
		width := float64(to.Sub(from)) / span * 100
		if width < 0.4 {
			width = 0.4 // a run of a second is still seen
		}
		if left+width > 100 {
			left = 100 - width
		}
		row := rows[r.Deployment]
		if row == nil {
			row = &TimelineRow{Deployment: r.Deployment}
			rows[r.Deployment] = row
			order = append(order, r.Deployment)
		}
		row.Bars = append(row.Bars, Bar{Run: r.Name, State: string(r.State), Left: left, Width: width,
			Title: fmt.Sprintf("%s %s %s–%s", r.Name, r.State, from.UTC().Format("15:04:05"), to.UTC().Format("15:04:05"))})
	}
	sort.Strings(order)
	for _, n := range order {
		tl.Rows = append(tl.Rows, *rows[n])
	}
	for i := 0; i <= 4; i++ {
		t := tl.Start.Add(time.Duration(i) * window / 4)
		tl.Ticks = append(tl.Ticks, Tick{Left: float64(i) * 25, Label: t.UTC().Format("15:04")})
	}
	return tl
}

// durationChart draws recent runs' durations as bars (Width is the
// height in percent of the longest), oldest first.
func durationChart(recent []client.RunView) []Bar {
	longest := 0.0
	for _, r := range recent {
		if r.Seconds > longest {
			longest = r.Seconds
		}
	}
	var out []Bar
	for i := len(recent) - 1; i >= 0; i-- {
		r := recent[i]
		h := 0.0
		if longest > 0 {
			h = r.Seconds / longest * 100
		}
		if h < 2 {
			h = 2
		}
		out = append(out, Bar{Run: r.Name, State: string(r.State), Width: h, Left: float64(len(out)) * 5,
			Title: fmt.Sprintf("%s %s %s", r.Name, r.State, r.Duration)})
	}
	return out
}

var funcs = template.FuncMap{
	"stateClass": func(s any) string { return "state-" + strings.ToLower(fmt.Sprint(s)) },
	"limit":      project.LimitString,
	"join":       strings.Join,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"pct": func(f float64) string { return fmt.Sprintf("%.2f%%", f) },
	"sub": func(a, b float64) float64 { return a - b },
	"deref": func(p *int32) int32 {
		if p == nil {
			return 0
		}
		return *p
	},
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"runURL": func(name string) string { return "/runs/" + url.PathEscape(name) },
	// limitAnchor is the id of a limit's row on the limits page, from
	// "KIND NAME" as a waiting run names the limit it waits on.
	"limitAnchor": func(id string) string { return "limit-" + strings.ReplaceAll(id, " ", "-") },
	"ordinal":     client.Ordinal,
	"sinces":      func() []string { return []string{"15m", "1h", "6h", "24h"} },
}
