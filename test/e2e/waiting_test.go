package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// waitingProject has four kinds of limit, each the only one that binds for
// the runs of its deployments: a queue's, a tag's, a deployment's, and a
// pool's shared by two queues of different priority.
const waitingProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: waiting
namespace: NS
pools:
  - name: main
    concurrencyLimit: 100
    baseJobTemplate: template.json
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 1s}
    queues:
      - {name: default}
      - {name: narrow, concurrencyLimit: 3}
  - name: small
    concurrencyLimit: 3
    baseJobTemplate: template.json
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 1s}
    queues:
      - {name: hi, priority: 1}
      - {name: lo, priority: 5}
concurrencyLimits:
  - tag: database
    limit: 3
deployments:
  - {flow: mix, name: queue, entrypoint: a.py:f, pool: main, queue: narrow}
  - {flow: mix, name: tag, entrypoint: a.py:f, pool: main, tags: [database]}
  - {flow: mix, name: dep, entrypoint: a.py:f, pool: main, concurrencyLimit: 3}
  - {flow: mix, name: hi, entrypoint: a.py:f, pool: small, queue: hi}
  - {flow: mix, name: lo, entrypoint: a.py:f, pool: small, queue: lo}
  - flow: slow
    name: db
    entrypoint: a.py:f
    pool: main
    tags: [database]
    jobVariables:
      pod_annotations: {pod-complete.stage.kwok.x-k8s.io/delay: 1h}
`

// TestWaitingPositions: 201 runs queued on mixed limits before the
// reconciler starts; the positions get runs shows then, computed by the
// reconciler's own plan over what the client sees, are the order in which
// their Jobs are then created, limit by limit. run --watch says what its
// run waits on and its place in line as the runs before it start. Then
// get limits and describe tag list the runs holding a tag's slots as the
// Jobs show them.
func TestWaitingPositions(t *testing.T) {
	e := newEnv(t, waitingProject, map[string]string{"template.json": testTemplate})
	ctx := context.Background()
	k := newCLI(t, e.dir)
	var names []string
	deployments := map[string]string{}
	for _, d := range []struct {
		name string
		n    int
	}{{"queue", 50}, {"tag", 50}, {"dep", 50}, {"hi", 25}, {"lo", 25}} {
		for i := range d.n {
			n := fmt.Sprintf("%s-%02d", d.name, i)
			names = append(names, n)
			deployments[n] = "mix/" + d.name
		}
	}
	// Created in no particular order, over a second or two: the queue's
	// order is priority, scheduled time (creation), then name.
	rand.New(rand.NewSource(1)).Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	e.createRuns(ctx, names, func(i int) string { return "deployment: " + deployments[names[i]] + "\n" })
	watch := k.background("run", "mix/tag", "--name", "tag-watched", "--watch", "--timeout", "3m")
	watch.waitOutput(t, "in line", 30*time.Second)
	deployments["tag-watched"] = "mix/tag"

	start := time.Now()
	shown := shownRuns(t, k.expect(0, []string{"get", "runs", "-o", "json"}).stdout)
	t.Logf("get runs -o json with %d waiting runs: %v", len(shown), time.Since(start).Round(time.Millisecond))
	k.expect(0, []string{"get", "runs", "-o", "wide"}, "WAITING ON", "POSITION", "queue main/narrow", "tag database", "deployment mix/dep", "pool small")
	if len(shown) != len(deployments) {
		t.Fatalf("get runs shows %d runs, %d were made", len(shown), len(deployments))
	}

	jobs := e.watchJobs(ctx, nil, func(*batchv1.Job) []string { return nil })
	e.startReconciler("")
	e.waitFor(ctx, 3*time.Minute, "every run to end", allFinal(len(deployments)))
	if code := watch.wait(t, 30*time.Second); code != 0 {
		t.Errorf("run --watch: exit %d\n%s", code, watch.out.String())
	}
	checkWatchLines(t, watch.out.String())
	checkStartOrder(t, shown, jobStarts(jobs))

	t.Run("get limits and describe tag list the Jobs' holders", func(t *testing.T) {
		checkHolders(t, e, k)
	})
}

// jobStarts is when each run's Job was first seen.
func jobStarts(jw *jobWatch) map[string]time.Time {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	out := map[string]time.Time{}
	for job, run := range jw.runs {
		out[run] = jw.createdAt[job]
	}
	return out
}

// checkStartOrder compares, deployment by deployment (each has one
// binding limit; the two of pool small share it), the order shown with
// the order the Jobs came in (fixture.CompareStartOrder).
func checkStartOrder(t *testing.T, shown map[string]shownRun, started map[string]time.Time) {
	groups, position := map[string][]string{}, map[string]int{}
	for name, s := range shown {
		g := s.deployment
		if g == "mix/hi" || g == "mix/lo" {
			g = "pool small"
		}
		groups[g] = append(groups[g], name)
		position[name] = s.position
	}
	res := fixture.CompareStartOrder(groups, position, started, 400*time.Millisecond)
	for g, sg := range res.Groups {
		t.Logf("%s: %d runs, %d started by the first pass, %d out of the order shown %v", g, sg.Runs, sg.StartNow, len(sg.Mismatches), sg.Mismatches)
	}
	matched, total := res.Matched, res.Total
	t.Logf("positions shown before dispatch match the start order for %d of %d runs (%.1f%%)", matched, total, 100*float64(matched)/float64(total))
	if matched*100 < total*99 {
		t.Errorf("positions match the start order for %d of %d runs, want at least 99%%", matched, total)
	}
}

// checkWatchLines: run --watch said what its run waited on, and its place
// in line went down as the runs before it started.
func checkWatchLines(t *testing.T, out string) {
	var places []int
	for _, l := range strings.Split(out, "\n") {
		var n int
		if i := strings.Index(l, "waiting on tag database, "); i >= 0 {
			if _, err := fmt.Sscanf(l[i+len("waiting on tag database, "):], "%d", &n); err == nil {
				places = append(places, n)
			}
		}
	}
	t.Logf("run --watch showed its place in line as %v", places)
	if len(places) < 2 || !slices.IsSortedFunc(places, func(a, b int) int { return b - a }) {
		t.Errorf("run --watch: places in line %v, want them shown and going down:\n%s", places, out)
	}
}

// checkHolders holds the database tag's three slots with runs that do not
// end, and checks that get limits and describe tag name as holders the
// runs whose unfinished Jobs carry the tag, and the fourth run in line.
func checkHolders(t *testing.T, e *env, k *cli) {
	ctx := context.Background()
	slow := []string{"slow-0", "slow-1", "slow-2", "slow-3"}
	e.createRuns(ctx, slow, func(int) string { return "deployment: slow/db\n" })
	e.waitFor(ctx, time.Minute, "three slow runs Running", func(m map[string]*v1alpha1.RunStatus) bool {
		n := 0
		for _, r := range slow {
			if m[r] != nil && m[r].State == v1alpha1.StateRunning {
				n++
			}
		}
		return n == 3
	})
	list, err := cp.Client.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
	must(t, err)
	var holders []string
	for _, j := range list.Items {
		if !jobFinished(&j) && slices.Contains(strings.Split(j.Annotations[v1alpha1.AnnotationTags], ","), "database") {
			holders = append(holders, j.OwnerReferences[0].Name)
		}
	}
	sort.Strings(holders)
	var limits struct {
		Items []struct {
			Spec   struct{ Kind, Name string }
			Status struct{ Holders []struct{ Run string } }
		}
	}
	must(t, json.Unmarshal([]byte(k.expect(0, []string{"get", "limits", "-o", "json"}).stdout), &limits))
	var listed []string
	for _, l := range limits.Items {
		if l.Spec.Kind == "tag" && l.Spec.Name == "database" {
			for _, h := range l.Status.Holders {
				listed = append(listed, h.Run)
			}
		}
	}
	sort.Strings(listed)
	if len(holders) != 3 || !slices.Equal(holders, listed) {
		t.Errorf("tag database: the Jobs show holders %v, get limits %v", holders, listed)
	}
	var waiting string
	for _, r := range slow {
		if !slices.Contains(holders, r) {
			waiting = r
		}
	}
	d := k.expect(0, []string{"describe", "tag", "database"}, append([]string{"Holders:", "In Line:"}, holders...)...)
	if !strings.Contains(d.stdout, "1         "+waiting) {
		t.Errorf("describe tag database does not show %s first in line:\n%s", waiting, d.stdout)
	}
	k.expect(0, []string{"get", "limits"}, "tag", "database", "3/3")
	k.expect(0, append([]string{"cancel"}, slow...))
}

// TestGetRunsSeesStartedJobs: a run whose Job exists while its status is
// yet to say so (the reconciler holds that write back while the API server
// is saturated) is shown Pending from its Job, and the runs behind it in
// line move up; a Job named after a run that the run does not control is
// not believed. Read as a viewer, through its own kubeconfig, with no
// reconciler running, by get and by get -w; the dashboard's watches of the
// runs' Jobs and pods (metadata only, those not succeeded) see a Job and a
// pod created.
func TestGetRunsSeesStartedJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, cliProject, map[string]string{"template.json": testTemplate})
	for i := 1; i <= 5; i++ {
		e.createRun(ctx, fmt.Sprintf("s-%d", i), "deployment: e2e/ok\n")
	}
	kc, _ := e.bindUser(ctx, render.ViewerRole, "viewer")
	k := newCLI(t, e.dir, "KUBECONFIG="+kc)
	shown := func() map[string]shownRun {
		return shownRuns(t, k.expect(0, []string{"get", "runs", "-o", "json"}).stdout)
	}
	before := shown()
	for name, want := range map[string]shownRun{
		"s-1": {state: "Scheduled", waitingOn: "nothing: starts next"}, "s-2": {state: "Scheduled", waitingOn: "nothing: starts next"},
		"s-3": {state: "Scheduled", waitingOn: "nothing: starts next"},
		"s-4": {state: "Scheduled", waitingOn: "queue main/default", position: 1}, "s-5": {state: "Scheduled", waitingOn: "queue main/default", position: 2},
	} {
		want.deployment = "e2e/ok"
		if before[name] != want {
			t.Fatalf("before any Job: %s shows %+v, want %+v", name, before[name], want)
		}
	}

	// get -w follows the same: from a watch of the Jobs that have not
	// succeeded.
	watch := k.background("get", "runs", "-w")
	watch.waitOutput(t, "s-5", 30*time.Second)

	// The dashboard's watches of the runs' Jobs and pods tell it of the
	// Jobs' and a pod's creates.
	meta, err := metadata.NewForConfig(cp.RESTConfig())
	must(t, err)
	objects := client.New(cp.Client, client.Options{Namespace: e.ns, Metadata: meta})
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	seen := make(chan struct{}, 1)
	notify := func() {
		select {
		case seen <- struct{}{}:
		default:
		}
	}
	if !objects.Watch().Start(wctx, &wg, notify) {
		t.Fatal("the watches did not start")
	}
	objects.WatchRunPods(wctx, &wg, notify)

	uid := func(name string) types.UID {
		cm, err := cp.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, name, metav1.GetOptions{})
		must(t, err)
		return cm.UID
	}
	// s-1's Job as the reconciler makes it; one named after s-2 whose
	// controller reference names s-2 but carries s-1's UID.
	e.createStartedJob(ctx, "s-1", uid("s-1"))
	e.createStartedJob(ctx, "s-2", uid("s-1"))
	for _, what := range []string{"a Job", "a pod"} {
		if what == "a pod" {
			// What the Jobs' creates and status updates called for, first.
			for quiet := false; !quiet; {
				select {
				case <-seen:
				case <-time.After(time.Second):
					quiet = true
				}
			}
			_, err := cp.Client.CoreV1().Pods(e.ns).Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "s-9-pod", Labels: map[string]string{v1alpha1.LabelRunName: "s-9"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "flow", Image: "flows:e2e"}}},
			}, metav1.CreateOptions{})
			must(t, err)
		}
		select {
		case <-seen:
		case <-time.After(30 * time.Second):
			t.Errorf("the dashboard's watches did not see %s created in 30 s", what)
		}
	}
	after := shown()
	for name, want := range map[string]shownRun{
		"s-1": {state: "Pending", reason: v1alpha1.ReasonDispatched},
		"s-2": {state: "Scheduled", waitingOn: "nothing: starts next"}, "s-3": {state: "Scheduled", waitingOn: "nothing: starts next"},
		"s-4": {state: "Scheduled", waitingOn: "queue main/default", position: 1}, "s-5": {state: "Scheduled", waitingOn: "queue main/default", position: 2},
	} {
		want.deployment = "e2e/ok"
		if after[name] != want {
			t.Errorf("with s-1's Job: %s shows %+v, want %+v", name, after[name], want)
		}
	}
	k.expect(0, []string{"describe", "run", "s-1"}, "Pending", "Job s-1 created; waiting for its pod to start")
	watch.waitOutput(t, "Pending", 30*time.Second)
	for _, l := range strings.Split(watch.out.String(), "\n") {
		if strings.Contains(l, "Pending") && !strings.HasPrefix(l, "s-1 ") {
			t.Errorf("get -w shows another run than s-1 Pending: %q", l)
		}
	}
	// Its status still says Scheduled: nothing was written.
	if st := e.statuses(ctx)["s-1"]; st != nil && st.State != "" && st.State != v1alpha1.StateScheduled {
		t.Errorf("s-1's stored state became %s", st.State)
	}
}

// shownRun is what get runs -o json says of a run: its deployment, its
// state and what it waits on.
type shownRun struct {
	deployment, state, reason, waitingOn string
	position                             int
}

// shownRuns reads what get runs -o json says of each run.
func shownRuns(t *testing.T, out string) map[string]shownRun {
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct{ Deployment string }
			Status   struct {
				State     string `json:"state"`
				Reason    string `json:"reason"`
				WaitingOn string `json:"waitingOn"`
				Position  int    `json:"position"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("get runs -o json: %v\n%.2000s", err, out)
	}
	m := map[string]shownRun{}
	for _, it := range list.Items {
		st := it.Status
		if st.State == string(v1alpha1.StateLate) { // Scheduled, past its time on a slow machine
			st.State = string(v1alpha1.StateScheduled)
		}
		m[it.Metadata.Name] = shownRun{it.Spec.Deployment, st.State, st.Reason, st.WaitingOn, st.Position}
	}
	return m
}

// createStartedJob creates, as the reconciler would, a suspended Job for
// run whose controller reference names the run with UID owner.
func (e *env) createStartedJob(ctx context.Context, run string, owner types.UID) {
	e.t.Helper()
	rec, err := json.Marshal(v1alpha1.AdmissionRecord{ScheduledTime: metav1.Now(), AdmittedAt: time.Now()})
	must(e.t, err)
	yes, name := true, v1alpha1.JobName(run)
	meta := map[string]string{v1alpha1.LabelPool: "main", v1alpha1.LabelQueue: "default", v1alpha1.LabelRunName: name,
		v1alpha1.LabelDeployment: v1alpha1.DeploymentLabelValue("e2e", "ok")}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: meta,
			Annotations:     map[string]string{v1alpha1.AnnotationAdmission: string(rec), v1alpha1.AnnotationTags: "e2e"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: run, UID: owner, Controller: &yes}},
		},
		Spec: batchv1.JobSpec{Suspend: &yes, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1alpha1.LabelRunName: name}},
			Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "flow", Image: "flows:e2e"}}},
		}},
	}
	_, err = cp.Client.BatchV1().Jobs(e.ns).Create(ctx, job, metav1.CreateOptions{})
	must(e.t, err)
}
