package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// env is one test's project, installed in a namespace of its own.
type env struct {
	t      *testing.T
	ns     string
	dir    string
	loaded *project.Loaded
	out    *render.Output
}

// newEnv installs the project (NS in it is replaced by the namespace) and
// any extra files in a fresh namespace.
func newEnv(t *testing.T, flowsYAML string, files map[string]string) *env {
	t.Helper()
	e := &env{t: t, ns: cp.NewNamespace(t), dir: t.TempDir()}
	p, err := fixture.Install(context.Background(), cp.Client, e.ns, e.dir, flowsYAML, files)
	if err != nil {
		t.Fatal(err)
	}
	e.loaded, e.out = p.Loaded, p.Output
	return e
}

// installRBAC creates the rendered ServiceAccount, Role and RoleBinding and
// returns a kubeconfig with the ServiceAccount's credentials.
func (e *env) installRBAC(ctx context.Context) string {
	e.t.Helper()
	e.createRBAC(ctx, "reconciler.yaml")
	kc, err := cp.KubeconfigForServiceAccount(ctx, e.ns, "flows-reconciler")
	if err != nil {
		e.t.Fatal(err)
	}
	return kc
}

// createRBAC creates the ServiceAccounts, Roles and RoleBindings of a
// rendered file, as the operator's apply would; other kinds are skipped.
func (e *env) createRBAC(ctx context.Context, file string) {
	e.t.Helper()
	p := &fixture.Project{Namespace: e.ns, Dir: e.dir, Loaded: e.loaded, Output: e.out}
	if err := p.CreateRBAC(ctx, cp.Client, file); err != nil {
		e.t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// reconciler is a flows-reconciler process.
type reconciler struct{ *fixture.Process }

// startReconciler runs the real binary out of cluster, as a developer or
// `make demo` would, with the admin kubeconfig unless one is given.
func (e *env) startReconciler(kubeconfig string, args ...string) *reconciler {
	e.t.Helper()
	if kubeconfig == "" {
		kubeconfig = cp.Kubeconfig
	}
	args = append([]string{"--config-digest=" + e.out.ConfigDigest}, args...)
	p, err := fixture.StartReconciler(binDir, e.dir, kubeconfig, e.ns, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &reconciler{p}
	e.t.Cleanup(func() {
		r.Kill()
		if e.t.Failed() {
			e.t.Logf("reconciler log (%s), last 4 KiB:\n%s", r.Log, tail([]byte(r.LogText()), 4096))
		}
	})
	return r
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// stop is SIGTERM and a wait for a clean exit.
func (r *reconciler) stop(t *testing.T) {
	r.Terminate()
	select {
	case <-r.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("reconciler did not exit within 20s of SIGTERM")
	}
}

// createRun creates a run request ConfigMap.
func (e *env) createRun(ctx context.Context, name, runYAML string) {
	e.t.Helper()
	if _, err := cp.Client.CoreV1().ConfigMaps(e.ns).Create(ctx, fixture.RunRequest(name, runYAML), metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating run %s: %v", name, err)
	}
}

// createRaw creates a run request with arbitrary data, for malformed ones.
func (e *env) createRaw(ctx context.Context, name string, data map[string]string) {
	e.t.Helper()
	cm := fixture.RunRequest(name, "")
	cm.Data = data
	if _, err := cp.Client.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating run %s: %v", name, err)
	}
}

// createRuns creates runs from 16 clients at once.
func (e *env) createRuns(ctx context.Context, names []string, runYAML func(i int) string) {
	e.t.Helper()
	err := fixture.CreateConcurrently(len(names), 16, func(i int) error {
		_, err := cp.Client.CoreV1().ConfigMaps(e.ns).Create(ctx, fixture.RunRequest(names[i], runYAML(i)), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// statuses returns every run's status by name.
func (e *env) statuses(ctx context.Context) map[string]*v1alpha1.RunStatus {
	e.t.Helper()
	list, err := cp.Client.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRun + "=true"})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*v1alpha1.RunStatus{}
	for _, cm := range list.Items {
		st, err := v1alpha1.DecodeRunStatus(cm.Data[v1alpha1.KeyStatus])
		if err != nil {
			e.t.Fatalf("run %s: %v", cm.Name, err)
		}
		if cm.Labels[v1alpha1.LabelState] != string(st.State) {
			e.t.Errorf("run %s: state label %q but status %q", cm.Name, cm.Labels[v1alpha1.LabelState], st.State)
		}
		out[cm.Name] = st
	}
	return out
}

// waitFor polls the runs until cond holds, failing with a summary of the
// states on timeout.
func (e *env) waitFor(ctx context.Context, timeout time.Duration, what string, cond func(map[string]*v1alpha1.RunStatus) bool) map[string]*v1alpha1.RunStatus {
	e.t.Helper()
	var last map[string]*v1alpha1.RunStatus
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = e.statuses(ctx)
		return cond(last), nil
	})
	if err != nil {
		e.t.Fatalf("waiting %v for %s: %v; states: %s", timeout, what, err, summarize(last))
	}
	return last
}

// allFinal is a waitFor condition: n runs, all in a final state.
func allFinal(n int) func(map[string]*v1alpha1.RunStatus) bool {
	return func(m map[string]*v1alpha1.RunStatus) bool {
		if len(m) < n {
			return false
		}
		for _, st := range m {
			if !st.State.Final() {
				return false
			}
		}
		return true
	}
}

func summarize(m map[string]*v1alpha1.RunStatus) string {
	counts := map[string]int{}
	for _, st := range m {
		s := string(st.State)
		if s == "" {
			s = "(new)"
		}
		counts[s]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

// jobWatch follows every Job in a namespace and checks, at every event,
// that the unfinished Jobs never exceed any limit. A watch that resumes
// from the last resourceVersion it saw; when the API server cannot resume
// it (after a restart its watch cache starts anew), it takes a fresh list,
// a consistent snapshot, applies the ends in it before the starts, and
// watches on from there. (An informer's relist hands Jobs over in name
// order: a Job made after the restart came before an older Job's end, and
// both counted as running at once.)
type jobWatch struct {
	mu         sync.Mutex
	limits     map[string]int
	keysOf     func(*batchv1.Job) []string
	unfinished map[string][]string // job name -> its limit keys
	inUse      map[string]int
	maxInUse   map[string]int
	violations []string
	added      map[string]int       // ADDED events per Job name
	runs       map[string]string    // Job name -> owning run
	createdAt  map[string]time.Time // Job name -> when its ADDED event arrived
}

func (e *env) watchJobs(ctx context.Context, limits map[string]int, keysOf func(*batchv1.Job) []string) *jobWatch {
	e.t.Helper()
	jw := &jobWatch{
		limits: limits, keysOf: keysOf,
		unfinished: map[string][]string{}, inUse: map[string]int{}, maxInUse: map[string]int{},
		added: map[string]int{}, runs: map[string]string{}, createdAt: map[string]time.Time{},
	}
	jobs := cp.Client.BatchV1().Jobs(e.ns)
	list, err := jobs.List(ctx, metav1.ListOptions{})
	must(e.t, err)
	for i := range list.Items {
		jw.event(watch.Added, &list.Items[i])
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		rv := list.ResourceVersion
		for ctx.Err() == nil {
			if w, err := jobs.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}); err == nil {
				expired := false
				for ev := range w.ResultChan() {
					job, ok := ev.Object.(*batchv1.Job)
					if !ok { // watch.Error: the version is too old to resume from
						expired = true
						break
					}
					rv = job.ResourceVersion
					if ev.Type != watch.Bookmark {
						jw.event(ev.Type, job)
					}
				}
				w.Stop()
				if !expired {
					continue // closed (a timeout, the server going away): resume
				}
			}
			if ctx.Err() != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
			if l, err := jobs.List(ctx, metav1.ListOptions{}); err == nil {
				jw.resync(l.Items)
				rv = l.ResourceVersion
			}
		}
	}()
	e.t.Cleanup(func() { cancel(); <-done })
	return jw
}

// resync takes a list of every Job after events were missed: Jobs it
// no longer holds, or holds finished, end first; then Jobs not seen before
// are added. The list is one moment's state, so the counts after it are
// exact; what happened in the gap and was over by then is not seen.
func (jw *jobWatch) resync(jobs []batchv1.Job) {
	listed := map[string]*batchv1.Job{}
	for i := range jobs {
		listed[jobs[i].Name] = &jobs[i]
	}
	jw.mu.Lock()
	var gone []string
	for name := range jw.unfinished {
		if _, ok := listed[name]; !ok {
			gone = append(gone, name)
		}
	}
	jw.mu.Unlock()
	for _, name := range gone {
		jw.event(watch.Deleted, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	var fresh []*batchv1.Job
	for _, job := range listed {
		if jobFinished(job) {
			jw.event(watch.Modified, job)
			continue
		}
		fresh = append(fresh, job)
	}
	for _, job := range fresh {
		jw.mu.Lock()
		seen := jw.added[job.Name] > 0
		jw.mu.Unlock()
		if seen {
			jw.event(watch.Modified, job)
		} else {
			jw.event(watch.Added, job)
		}
	}
	// A Job made and over within the gap was never unfinished here, but
	// it was made: count it, so a second Job for a run still shows.
	for _, job := range listed {
		jw.mu.Lock()
		if jw.added[job.Name] == 0 {
			jw.added[job.Name]++
			jw.createdAt[job.Name] = time.Now()
			if len(job.OwnerReferences) > 0 {
				jw.runs[job.Name] = job.OwnerReferences[0].Name
			}
		}
		jw.mu.Unlock()
	}
}

func jobFinished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func (jw *jobWatch) event(typ watch.EventType, job *batchv1.Job) {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	if typ == watch.Added {
		jw.added[job.Name]++
		jw.createdAt[job.Name] = time.Now()
		if len(job.OwnerReferences) > 0 {
			jw.runs[job.Name] = job.OwnerReferences[0].Name
		}
	}
	finished := jobFinished(job)
	_, tracked := jw.unfinished[job.Name]
	switch {
	case (typ == watch.Deleted || finished) && tracked:
		for _, k := range jw.unfinished[job.Name] {
			jw.inUse[k]--
		}
		delete(jw.unfinished, job.Name)
	case typ != watch.Deleted && !finished && !tracked:
		keys := jw.keysOf(job)
		jw.unfinished[job.Name] = keys
		for _, k := range keys {
			jw.inUse[k]++
			if jw.inUse[k] > jw.maxInUse[k] {
				jw.maxInUse[k] = jw.inUse[k]
			}
			if l, ok := jw.limits[k]; ok && jw.inUse[k] > l {
				jw.violations = append(jw.violations, fmt.Sprintf("%s: %d unfinished Jobs > limit %d (at Job %s)", k, jw.inUse[k], l, job.Name))
			}
		}
	}
}

func (jw *jobWatch) report(t *testing.T) {
	t.Helper()
	jw.mu.Lock()
	defer jw.mu.Unlock()
	keys := make([]string, 0, len(jw.maxInUse))
	for k := range jw.maxInUse {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l, ok := jw.limits[k]
		limit := "unlimited"
		if ok {
			limit = fmt.Sprint(l)
		}
		t.Logf("  %-28s max unfinished %3d, limit %s", k, jw.maxInUse[k], limit)
	}
	for _, v := range jw.violations {
		t.Errorf("limit exceeded: %s", v)
	}
	for name, n := range jw.added {
		if n > 1 {
			t.Errorf("Job %s created %d times", name, n)
		}
	}
	perRun := map[string]int{}
	for _, run := range jw.runs {
		perRun[run]++
	}
	for run, n := range perRun {
		if n > 1 {
			t.Errorf("run %s has %d Jobs", run, n)
		}
	}
}
