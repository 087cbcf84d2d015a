package reconciler

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/yamlcodec"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

// These tests drive the controller the way sample-controller's tests do:
// a fake clientset, informers that are never started and whose indexers
// the test loads, one pass or sync, and the client's recorded actions
// compared with the writes expected. They show decisions and writes, not
// concurrency or the API server's behaviour: the end-to-end tests do.

const testNS = "flows"

var testNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t      *testing.T
	client *fake.Clientset
	inf    Informers
	c      *Controller
	events *record.FakeRecorder
	now    time.Time
	rv     int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, client: fake.NewClientset(), now: testNow, rv: 100}
	state := NewStateForTest([]byte("0123456789abcdef0123456789abcdef"))
	factory := func(c Cache) informers.SharedInformerFactory {
		return informers.NewSharedInformerFactoryWithOptions(f.client, 0, FactoryOptions(testNS, c, state)...)
	}
	work := factory(WorkCache)
	f.inf = Informers{
		Configs:        factory(ConfigCache).Core().V1().ConfigMaps(),
		Runs:           RunInformer(factory(RunCache), testNS),
		CancelRequests: factory(CancelCache).Core().V1().ConfigMaps(),
		Jobs:           work.Batch().V1().Jobs(),
		Pods:           work.Core().V1().Pods(),
	}
	f.c = New(f.client, f.inf, Options{
		Namespace:             testNS,
		StatusWriteQPS:        -1,
		StatusWriteMaxLatency: -1,
		State:                 state,
		Logger:                slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:                   func() time.Time { return f.now },
	})
	f.events = record.NewFakeRecorder(100)
	f.c.recorder = f.events
	t.Cleanup(f.c.queue.ShutDown)
	return f
}

// add puts objects in the API server (the fake's tracker) and in the
// caches, as an informer would: through its transform, and its handler.
func (f *fixture) add(objs ...runtime.Object) {
	f.t.Helper()
	for _, o := range objs {
		if err := f.client.Tracker().Add(o); err != nil {
			f.t.Fatal(err)
		}
	}
	f.cache(objs...)
}

// cache shows objects in the caches.
func (f *fixture) cache(objs ...runtime.Object) {
	f.t.Helper()
	for _, o := range objs {
		o = o.DeepCopyObject()
		var err error
		switch o := o.(type) {
		case *corev1.ConfigMap:
			switch {
			case o.Labels[v1alpha1.LabelRun] == "true":
				trimmed, _ := f.c.state.trimRun(o)
				err = f.inf.Runs.Informer().GetIndexer().Update(trimmed)
				f.c.runChanged(trimmed, false)
			case o.Labels[v1alpha1.LabelCancelRequest] == "true":
				trimmed, _ := trimCancelRequest(o)
				err = f.inf.CancelRequests.Informer().GetIndexer().Update(trimmed)
			default:
				err = f.inf.Configs.Informer().GetIndexer().Update(o)
			}
		case *batchv1.Job:
			err = f.inf.Jobs.Informer().GetIndexer().Update(o)
			f.c.jobChanged(o, false)
		case *corev1.Pod:
			err = f.inf.Pods.Informer().GetIndexer().Update(o)
			f.c.podChanged(o)
		default:
			f.t.Fatalf("no cache for %T", o)
		}
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

// catchUp shows in the caches what the API server holds of a run and its
// Job, as their watches would. The fake keeps no resourceVersions: the
// run's is moved on here, as the API server's would have been by the
// writes.
func (f *fixture) catchUp(run string) {
	f.t.Helper()
	cm, err := f.client.CoreV1().ConfigMaps(testNS).Get(f.t.Context(), run, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.rv++
	cm.ResourceVersion = fmt.Sprint(f.rv)
	if err := f.client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("configmaps"), cm, testNS); err != nil {
		f.t.Fatal(err)
	}
	f.cache(cm)
	if job, err := f.client.BatchV1().Jobs(testNS).Get(f.t.Context(), v1alpha1.JobName(run), metav1.GetOptions{}); err == nil {
		f.cache(job)
	}
	f.client.ClearActions()
}

// pass runs one dispatch pass and the writes it decides.
func (f *fixture) pass() []string {
	f.t.Helper()
	f.client.ClearActions()
	if err := f.c.dispatch(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
	for len(f.c.writes) > 0 {
		f.c.write(f.t.Context(), <-f.c.writes)
	}
	return f.actions()
}

// sync runs one sync of a run.
func (f *fixture) sync(run string) []string {
	f.t.Helper()
	f.client.ClearActions()
	if err := f.c.syncRun(f.t.Context(), run); err != nil {
		f.t.Fatalf("syncRun %s: %v", run, err)
	}
	return f.actions()
}

// actions describes the client's recorded actions: the verb, the
// resource and the name, and for a status patch the state it writes.
func (f *fixture) actions() []string {
	var out []string
	for _, a := range f.client.Actions() {
		res := a.GetResource().Resource
		if sub := a.GetSubresource(); sub != "" {
			res += "/" + sub
		}
		switch a := a.(type) {
		case k8stesting.CreateAction: // and updates
			m, _ := a.GetObject().(metav1.Object)
			out = append(out, fmt.Sprintf("%s %s %s", a.GetVerb(), res, m.GetName()))
		case k8stesting.PatchAction:
			var p struct {
				Metadata struct {
					Labels map[string]any `json:"labels"`
				} `json:"metadata"`
			}
			_ = json.Unmarshal(a.GetPatch(), &p)
			s := fmt.Sprintf("patch %s %s", res, a.GetName())
			if st, ok := p.Metadata.Labels[v1alpha1.LabelState]; ok {
				s += fmt.Sprintf(" %v", st)
			}
			out = append(out, s)
		case k8stesting.DeleteAction:
			out = append(out, fmt.Sprintf("delete %s %s", res, a.GetName()))
		case k8stesting.GetAction:
			out = append(out, fmt.Sprintf("get %s %s", res, a.GetName()))
		default:
			out = append(out, a.GetVerb()+" "+res)
		}
	}
	return out
}

func (f *fixture) expect(what string, got []string, want ...string) {
	f.t.Helper()
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		f.t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// status reads a run's status from the API server.
func (f *fixture) status(run string) *v1alpha1.RunStatus {
	f.t.Helper()
	cm, err := f.client.CoreV1().ConfigMaps(testNS).Get(f.t.Context(), run, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := v1alpha1.DecodeRunStatus(cm.Data[v1alpha1.KeyStatus])
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fixture) event() string {
	select {
	case e := <-f.events.Events:
		return e
	default:
		return ""
	}
}

// configMaps are the config ConfigMaps render would write for pools,
// deployments and tag limits, with their index.
func configMaps(t *testing.T, pools []v1alpha1.Pool, deps []v1alpha1.Deployment, tags []v1alpha1.TagLimit) []runtime.Object {
	t.Helper()
	var cms []*corev1.ConfigMap
	cm := func(name, kind string, data map[string]string) {
		cms = append(cms, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID("uid-" + name), ResourceVersion: "1",
			Labels: map[string]string{v1alpha1.LabelConfig: kind}}, Data: data})
	}
	yaml := func(v any) string {
		b, err := yamlcodec.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, p := range pools {
		cm(v1alpha1.PoolConfigMapName(p.Name), v1alpha1.ConfigPool, map[string]string{v1alpha1.KeyPool: yaml(p), v1alpha1.KeyJobTemplate: string(jobtemplate.DefaultJSON())})
	}
	for _, d := range deps {
		cm(v1alpha1.DeploymentConfigMapName(d.Flow, d.Name), v1alpha1.ConfigDeployment, map[string]string{v1alpha1.KeyDeployment: yaml(d)})
	}
	if tags != nil {
		cm("flows-limits", v1alpha1.ConfigLimits, map[string]string{v1alpha1.KeyLimits: yaml(tags)})
	}
	digests := map[string]string{}
	for _, c := range cms {
		digests[c.Name] = v1alpha1.ConfigDigest(c.Data)
	}
	data, err := v1alpha1.ConfigIndexData(digests)
	if err != nil {
		t.Fatal(err)
	}
	cm(v1alpha1.ConfigIndexName, v1alpha1.ConfigIndex, data)
	out := make([]runtime.Object, len(cms))
	for i, c := range cms {
		out[i] = c
	}
	return out
}

func deployment(flow, name, pool string, edit func(*v1alpha1.Deployment)) v1alpha1.Deployment {
	d := v1alpha1.Deployment{Flow: flow, Name: name, Pool: pool, Queue: "default", Image: "img:1", Entrypoint: "flows/x.py:x"}
	if edit != nil {
		edit(&d)
	}
	return d
}

func pool(name string, limit *int32) v1alpha1.Pool {
	return v1alpha1.Pool{Name: name, ConcurrencyLimit: limit, Queues: []v1alpha1.Queue{{Name: "default", Priority: 1}}}
}

// newRun is a run request created age ago.
func newRun(t *testing.T, name string, age time.Duration, req v1alpha1.RunRequest) *corev1.ConfigMap {
	t.Helper()
	data, err := v1alpha1.EncodeRunRequest(&req)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: testNS, UID: types.UID("uid-" + name), ResourceVersion: "1",
		CreationTimestamp: metav1.NewTime(testNow.Add(-age)),
		Labels:            map[string]string{v1alpha1.LabelRun: "true"},
	}, Data: map[string]string{v1alpha1.KeyRun: data}}
}

func TestDispatchPassAdmitsInOrderAndWritesWhatItDecides(t *testing.T) {
	f := newFixture(t)
	f.add(configMaps(t, []v1alpha1.Pool{pool("p", ptrTo[int32](1))}, []v1alpha1.Deployment{deployment("f", "a", "p", nil)}, nil)...)
	f.add(
		newRun(t, "second", time.Second, v1alpha1.RunRequest{Deployment: "f/a"}),
		newRun(t, "first", 2*time.Second, v1alpha1.RunRequest{Deployment: "f/a"}),
		newRun(t, "typo", 3*time.Second, v1alpha1.RunRequest{Deployment: "f/aa"}),
	)
	f.expect("first pass", f.pass(),
		"patch configmaps typo Rejected",
		"create jobs first",
		"patch configmaps second Scheduled",
	)
	if e := f.event(); !strings.HasPrefix(e, "Warning Rejected deployment \"f/aa\" not found; did you mean f/a?") {
		t.Errorf("event %q", e)
	}
	job, err := f.client.BatchV1().Jobs(testNS).Get(t.Context(), "first", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !v1alpha1.ControlledBy(job, "uid-first") || !hasFinalizer(job) || slotsOfJob(job).Deployment != "f/a" {
		t.Errorf("Job %s: owner %v, finalizers %v, annotations %v", job.Name, job.OwnerReferences, job.Finalizers, job.Annotations)
	}
	if st := f.status("second"); st.Reason != "WaitingForSlot" || st.Pool != "p" {
		t.Errorf("second: %+v", st)
	}

	// The cache has seen none of it: the claims keep the next pass from
	// admitting a second run into the pool's one slot, or writing again.
	f.expect("pass on a stale cache", f.pass())

	// The Job in the cache holds the slot; its run's first status comes
	// from its sync, not from the pass.
	f.catchUp("first")
	f.catchUp("second")
	f.catchUp("typo")
	f.expect("pass with the Job cached", f.pass())
	f.expect("first's sync", f.sync("first"), "patch configmaps first Pending")
	if st := f.status("first"); st.JobName != "first" || st.Reason != "Dispatched" || st.PendingTime == nil {
		t.Errorf("first: %+v", st)
	}

	// The Job finishes: its slot goes to second.
	f.catchUp("first")
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	job.Status.CompletionTime = &metav1.Time{Time: testNow}
	if _, err := f.client.BatchV1().Jobs(testNS).UpdateStatus(t.Context(), job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.catchUp("first")
	f.expect("pass after the Job finished", f.pass(), "create jobs second")
	f.expect("first's sync", f.sync("first"), "patch configmaps first Completed")
}

func ptrTo[T any](v T) *T { return &v }

// admitted sets up pool p (pods watched for 30 s) and deployment f/a, and
// runs of it that have their Jobs, their Pending status written and in
// the cache.
func admitted(t *testing.T, runs ...string) *fixture {
	t.Helper()
	f := newFixture(t)
	f.admit(deployment("f", "a", "p", nil), runs...)
	return f
}

// admit installs pool p and deployment d (f/a, in p), and runs of d that
// have their Jobs, their Pending status written and in the cache.
func (f *fixture) admit(d v1alpha1.Deployment, runs ...string) {
	f.t.Helper()
	p := pool("p", nil)
	p.JobVariables = map[string]any{"pod_watch_timeout_seconds": 30}
	f.add(configMaps(f.t, []v1alpha1.Pool{p}, []v1alpha1.Deployment{d}, nil)...)
	for _, r := range runs {
		f.add(newRun(f.t, r, time.Second, v1alpha1.RunRequest{Deployment: "f/a"}))
	}
	f.pass()
	for _, r := range runs {
		f.catchUp(r)
		f.expect(r+"'s first sync", f.sync(r), "patch configmaps "+r+" Pending")
		f.catchUp(r)
	}
}

// job returns a run's Job as the API server holds it.
func (f *fixture) job(run string) *batchv1.Job {
	f.t.Helper()
	return f.jobNamed(v1alpha1.JobName(run))
}

// updateJob changes a run's Job in the API server and the cache.
func (f *fixture) updateJob(run string, edit func(*batchv1.Job)) {
	f.t.Helper()
	f.updateJobNamed(v1alpha1.JobName(run), edit)
}

func (f *fixture) pod(run, name string, phase corev1.PodPhase) *corev1.Pod {
	job := f.job(run)
	controller := true
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID("uid-" + name),
		Labels:          map[string]string{v1alpha1.LabelRunName: job.Name},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: &controller}},
	}, Status: corev1.PodStatus{Phase: phase, StartTime: &metav1.Time{Time: testNow}}}
}

func TestRunSyncsFollowTheJob(t *testing.T) {
	t.Run("running, then failed with the log's tail", func(t *testing.T) {
		f := admitted(t, "r")
		f.add(f.pod("r", "r-1", corev1.PodRunning))
		f.expect("pod running", f.sync("r"), "patch configmaps r Running")
		f.catchUp("r")
		f.expect("nothing new", f.sync("r"))
		f.updateJob("r", func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: metav1.Time{Time: testNow}}}
		})
		// The pod's end reaches the cache after the Job's: the run waits
		// for it, to say how the pod ended.
		f.expect("Job failed, its pod's end not seen yet", f.sync("r"))
		failed := f.pod("r", "r-1", corev1.PodFailed)
		failed.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "flow", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}
		f.cache(failed)
		f.expect("Job failed", f.sync("r"), "get pods/log", "patch configmaps r Failed")
		st := f.status("r")
		if !strings.HasSuffix(st.Message, "; pod r-1: OOMKilled (exit 137)") {
			t.Errorf("message %q does not say how the pod ended", st.Message)
		}
		if st.Reason != "BackoffLimitExceeded" || st.LogTail != "fake logs" || st.StartTime == nil || st.EndTime == nil {
			t.Errorf("status %+v", st)
		}
		if e := f.event(); e != "Warning Failed Job has reached the specified backoff limit; pod r-1: OOMKilled (exit 137)" {
			t.Errorf("event %q", e)
		}
	})
	t.Run("no pod within pod_watch_timeout_seconds: crashed, with the Job controller's reason", func(t *testing.T) {
		f := admitted(t, "r")
		if err := f.client.Tracker().Add(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: testNS},
			InvolvedObject: corev1.ObjectReference{UID: f.job("r").UID}, Reason: "FailedCreate", Message: "pods \"r-x\" is forbidden: violates PodSecurity"}); err != nil {
			t.Fatal(err)
		}
		f.expect("within the timeout", f.sync("r"))
		f.now = testNow.Add(31 * time.Second)
		f.expect("past the timeout", f.sync("r"), "list events", "delete jobs r", "patch configmaps r Crashed")
		if st := f.status("r"); st.Reason != "FailedCreate" || !strings.Contains(st.Message, "violates PodSecurity") {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("Job deleted by someone else: crashed; once ended, the finalizer goes", func(t *testing.T) {
		f := admitted(t, "r")
		f.updateJob("r", func(j *batchv1.Job) { j.DeletionTimestamp = &metav1.Time{Time: testNow} })
		f.client.ClearActions()
		if err := f.c.syncJob(t.Context(), "r"); err != nil {
			t.Fatal(err)
		}
		f.expect("finalizer while the run is not ended", f.actions())
		f.expect("sync", f.sync("r"), "patch configmaps r Crashed")
		f.catchUp("r")
		f.client.ClearActions()
		if err := f.c.syncJob(t.Context(), "r"); err != nil {
			t.Fatal(err)
		}
		f.expect("finalizer after the run ended", f.actions(), "patch jobs r")
		if job := f.job("r"); hasFinalizer(job) {
			t.Errorf("finalizers %v", job.Finalizers)
		}
	})
	t.Run("a Job an older reconciler made: once the run ended its legacy finalizer goes, others stay", func(t *testing.T) {
		f := admitted(t, "r")
		f.updateJob("r", func(j *batchv1.Job) {
			j.Finalizers = []string{"example.com/keep", v1alpha1.LegacyFinalizerRun}
			j.DeletionTimestamp = &metav1.Time{Time: testNow}
		})
		f.expect("sync", f.sync("r"), "patch configmaps r Crashed")
		f.catchUp("r")
		f.client.ClearActions()
		if err := f.c.syncJob(t.Context(), "r"); err != nil {
			t.Fatal(err)
		}
		f.expect("legacy finalizer after the run ended", f.actions(), "patch jobs r")
		if job := f.job("r"); !slices.Equal(job.Finalizers, []string{"example.com/keep"}) {
			t.Errorf("finalizers %v, want only example.com/keep", job.Finalizers)
		}
	})
	t.Run("cancel request: Job deleted, Cancelling, then Cancelled; the request is pruned", func(t *testing.T) {
		f := admitted(t, "r")
		run, _ := f.client.CoreV1().ConfigMaps(testNS).Get(t.Context(), "r", metav1.GetOptions{})
		req, err := v1alpha1.NewCancelRequest(run)
		if err != nil {
			t.Fatal(err)
		}
		req.Name, req.UID = "r-cancel-1", "uid-r-cancel-1"
		f.add(req)
		f.c.cancelRequestAdded(req)
		job := f.job("r")
		f.expect("cancel", f.sync("r"), "delete jobs r", "patch configmaps r Cancelling")
		f.catchUp("r")
		f.expect("Job not yet marked", f.sync("r"), "delete jobs r")
		// The finalizer keeps the Job, marked for deletion (the fake
		// deletes it at once: the cache shows what the API server would).
		job.DeletionTimestamp = &metav1.Time{Time: testNow}
		f.cache(job)
		f.expect("Job marked for deletion", f.sync("r"), "patch configmaps r Cancelled")
		if e := f.event(); e != "Normal Cancelled cancelled by request; its Job r was deleted" {
			t.Errorf("event %q", e)
		}
		f.catchUp("r")
		f.client.ClearActions()
		f.c.pruneCancelRequests(t.Context())
		f.expect("cancel requests pruned", f.actions(), "delete configmaps r-cancel-1")
	})
}

func TestDispatchCancelNewAndTakenJobNames(t *testing.T) {
	f := newFixture(t)
	cancelNew := deployment("f", "once", "p", func(d *v1alpha1.Deployment) {
		d.ConcurrencyLimit, d.CollisionStrategy = ptrTo[int32](1), v1alpha1.CollisionCancelNew
	})
	f.add(configMaps(t, []v1alpha1.Pool{pool("p", nil)}, []v1alpha1.Deployment{deployment("f", "a", "p", nil), cancelNew}, []v1alpha1.TagLimit{{Tag: "db", Limit: 5}})...)
	f.add(
		newRun(t, "once-1", 2*time.Second, v1alpha1.RunRequest{Deployment: "f/once"}),
		newRun(t, "once-2", time.Second, v1alpha1.RunRequest{Deployment: "f/once"}),
		newRun(t, "owner", 3*time.Second, v1alpha1.RunRequest{Deployment: "f/a"}),
	)
	f.expect("pass", f.pass(), "create jobs owner", "create jobs once-1", "patch configmaps once-2 Cancelled")
	if st := f.status("once-2"); st.Reason != "DeploymentConcurrencyLimit" {
		t.Errorf("once-2: %+v", st)
	}
	f.catchUp("owner")
	// A run whose derived Job name is a live run's Job: rejected, and
	// the Job left alone.
	taken := newRun(t, "thief", 0, v1alpha1.RunRequest{Deployment: "f/a"})
	f.add(taken)
	job := f.job("owner").DeepCopy()
	job.Name = "thief"
	f.cache(job)
	f.expect("pass", f.pass(), "patch configmaps thief Rejected")
	if st := f.status("thief"); st.Reason != planner.ReasonJobNameTaken {
		t.Errorf("thief: %+v", st)
	}
}

func TestPruneKeepsRetention(t *testing.T) {
	f := newFixture(t)
	p := pool("p", nil)
	p.RunRetention = &v1alpha1.Retention{Count: ptrTo[int32](1)}
	f.add(configMaps(t, []v1alpha1.Pool{p}, []v1alpha1.Deployment{deployment("f", "a", "p", nil)}, nil)...)
	ended := func(name string, age time.Duration, forged bool) *corev1.ConfigMap {
		cm := newRun(t, name, time.Hour, v1alpha1.RunRequest{Deployment: "f/a"})
		st := &v1alpha1.RunStatus{Pool: "p", EndTime: &metav1.Time{Time: testNow.Add(-age)}}
		setState(st, v1alpha1.StateCompleted, "Completed", "done", testNow)
		data, err := v1alpha1.EncodeRunStatus(st)
		if err != nil {
			t.Fatal(err)
		}
		cm.Data[v1alpha1.KeyStatus] = data
		cm.Labels[v1alpha1.LabelState] = string(st.State)
		cm.Labels[v1alpha1.LabelDeployment] = v1alpha1.DeploymentLabelValue("f", "a")
		if !forged {
			cm.Annotations = map[string]string{v1alpha1.AnnotationSignature: f.c.state.sign(cm.UID, st.State, data)}
		}
		return cm
	}
	f.add(ended("newest", time.Minute, false), ended("older", 2*time.Minute, false), ended("forged", 3*time.Minute, true))
	f.client.ClearActions()
	f.c.prune(t.Context())
	f.expect("prune", f.actions(), "delete configmaps older")
}

func TestSchedulesFireOncePerTickIntoState(t *testing.T) {
	f := newFixture(t)
	state, err := LoadState(t.Context(), f.client, testNS)
	if err != nil {
		t.Fatal(err)
	}
	f.c.state = state
	every := deployment("f", "cron", "p", func(d *v1alpha1.Deployment) {
		d.Schedules = []v1alpha1.Schedule{{Interval: &metav1.Duration{Duration: time.Minute}}}
	})
	f.add(configMaps(t, []v1alpha1.Pool{pool("p", nil)}, []v1alpha1.Deployment{every}, nil)...)
	armed := map[string]time.Time{}
	f.now = testNow.Add(30 * time.Second)
	f.client.ClearActions()
	f.c.fireSchedules(t.Context(), armed)
	f.expect("armed: no backlog", f.actions())
	f.now = testNow.Add(100 * time.Second)
	next := f.c.fireSchedules(t.Context(), armed)
	got := f.actions()
	f.expect("a tick due", got, "create configmaps "+ScheduledRunName(&every, 0, next.Add(-time.Minute)), "update secrets "+v1alpha1.StateSecretName)
	f.client.ClearActions()
	f.c.fireSchedules(t.Context(), armed)
	f.expect("the same tick again", f.actions())
	// A new leader reads the tick from the state Secret.
	again, err := LoadState(t.Context(), f.client, testNS)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.lastFired(ScheduleID(&every, 0)); !got.Equal(next.Add(-time.Minute)) {
		t.Errorf("last tick %v in the Secret, want %v", got, next.Add(-time.Minute))
	}
}

// TestScheduleCatchUp: a one-minute schedule last fired ten minutes ago
// by a reconciler that then stopped; a new one starts. Each policy fires
// its share of the missed ticks, oldest first, each under its own tick.
func TestScheduleCatchUp(t *testing.T) {
	lastTick := testNow.Add(-10 * time.Minute)
	tick := func(k int) time.Time { return lastTick.Add(time.Duration(k) * time.Minute) }
	for _, tc := range []struct {
		policy string
		max    *int32
		ticks  []time.Time
	}{
		{v1alpha1.CatchUpNone, nil, nil},
		{"", nil, []time.Time{tick(10)}}, // unset is Latest
		{v1alpha1.CatchUpLatest, nil, []time.Time{tick(10)}},
		{v1alpha1.CatchUpAll, ptrTo[int32](5), []time.Time{tick(6), tick(7), tick(8), tick(9), tick(10)}},
	} {
		t.Run("catchup "+tc.policy, func(t *testing.T) {
			f := newFixture(t)
			d := deployment("f", "minutely", "p", func(d *v1alpha1.Deployment) {
				d.Parameters = map[string]any{"who": "deployment", "n": 1}
				d.Schedules = []v1alpha1.Schedule{{Cron: "* * * * *", CatchUp: tc.policy, MaxCatchup: tc.max, Parameters: map[string]any{"who": "schedule"}}}
			})
			f.add(configMaps(t, []v1alpha1.Pool{pool("p", nil)}, []v1alpha1.Deployment{d}, nil)...)
			id := ScheduleID(&d, 0)
			if err := f.c.state.fired(t.Context(), id, lastTick, map[string]bool{id: true}); err != nil {
				t.Fatal(err)
			}
			f.now = testNow.Add(30 * time.Second)
			f.client.ClearActions()
			next := f.c.fireSchedules(t.Context(), map[string]time.Time{})
			var want []string
			for _, tk := range tc.ticks {
				want = append(want, "create configmaps "+ScheduledRunName(&d, 0, tk))
			}
			f.expect("after ten minutes down", f.actions(), want...)
			if !next.Equal(testNow.Add(time.Minute)) {
				t.Errorf("next tick %v, want %v", next, testNow.Add(time.Minute))
			}
			for _, tk := range tc.ticks {
				cm, err := f.client.CoreV1().ConfigMaps(testNS).Get(t.Context(), ScheduledRunName(&d, 0, tk), metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				req, err := v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun])
				if err != nil {
					t.Fatal(err)
				}
				if !req.ScheduledTime.Time.Equal(tk) || !reflect.DeepEqual(req.Parameters, map[string]any{"who": "schedule"}) {
					t.Errorf("run of tick %v: scheduledTime %v, parameters %v", tk, req.ScheduledTime, req.Parameters)
				}
			}
			if len(tc.ticks) > 0 && !f.c.state.lastFired(id).Equal(tc.ticks[len(tc.ticks)-1]) {
				t.Errorf("last fired %v, want %v", f.c.state.lastFired(id), tc.ticks[len(tc.ticks)-1])
			}
		})
	}
}

// TestScheduleOffIsNotCaughtUp: ticks that pass while a schedule is
// inactive, or its deployment paused, are not missed ticks: once on again
// it fires from then, even with catchup All, and a restart in between
// (a new State read from the Secret, nothing armed) does not change that.
func TestScheduleOffIsNotCaughtUp(t *testing.T) {
	for _, how := range []string{"inactive", "paused"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t)
			restart := func() map[string]time.Time {
				st, err := LoadState(t.Context(), f.client, testNS)
				if err != nil {
					t.Fatal(err)
				}
				f.c.state = st
				return map[string]time.Time{}
			}
			armed := restart()
			on := deployment("f", "minutely", "p", func(d *v1alpha1.Deployment) {
				d.Schedules = []v1alpha1.Schedule{{Cron: "* * * * *", CatchUp: v1alpha1.CatchUpAll, MaxCatchup: ptrTo[int32](5)}}
			})
			off := on
			off.Schedules = []v1alpha1.Schedule{on.Schedules[0]}
			if how == "paused" {
				off.Paused = true
			} else {
				off.Schedules[0].Active = ptrTo(false)
			}
			id := ScheduleID(&on, 0)
			if err := f.c.state.fired(t.Context(), id, testNow.Add(-20*time.Minute), map[string]bool{id: true}); err != nil {
				t.Fatal(err)
			}
			f.apply(configMaps(t, []v1alpha1.Pool{pool("p", nil)}, []v1alpha1.Deployment{off}, nil)...)
			f.now = testNow.Add(-10 * time.Minute)
			f.client.ClearActions()
			f.c.fireSchedules(t.Context(), armed)
			f.expect(how, f.actions(), "update secrets "+v1alpha1.StateSecretName)
			f.client.ClearActions()
			f.c.fireSchedules(t.Context(), armed)
			f.expect(how+", seen again", f.actions())

			// Ten minutes later it is on again, seen by a new reconciler.
			armed = restart()
			f.apply(configMaps(t, []v1alpha1.Pool{pool("p", nil)}, []v1alpha1.Deployment{on}, nil)...)
			f.now = testNow.Add(30 * time.Second)
			f.client.ClearActions()
			f.c.fireSchedules(t.Context(), armed)
			f.expect("on again: no backlog", f.actions())
			f.now = testNow.Add(time.Minute + 100*time.Millisecond)
			f.c.fireSchedules(t.Context(), armed)
			f.expect("on again: the next tick", f.actions(), "create configmaps "+ScheduledRunName(&on, 0, testNow.Add(time.Minute)), "update secrets "+v1alpha1.StateSecretName)
		})
	}
}

// apply creates or replaces config objects, with a new resourceVersion as
// the API server would give them.
func (f *fixture) apply(objs ...runtime.Object) {
	f.t.Helper()
	for _, o := range objs {
		cm := o.(*corev1.ConfigMap)
		f.rv++
		cm.ResourceVersion = fmt.Sprint(f.rv)
		if err := f.client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("configmaps"), cm, testNS); err != nil {
			if err := f.client.Tracker().Add(cm); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	f.cache(objs...)
}

// TestLostCreateAnswers: a Job create whose answer is lost may have made
// the Job. If it did, its claim keeps holding the slot until the cache
// shows the Job (a second pass on the stale cache admits nobody into the
// pool's one slot); a connection refused never reached the API server, so
// the run is admitted again by the next pass.
func TestLostCreateAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		land   bool
		err    error
		second []string // the next pass, on a cache that has seen nothing
	}{
		{name: "landed, answer lost", land: true, err: io.ErrUnexpectedEOF, second: nil},
		{name: "timed out, not made", err: apierrors.NewTimeoutError("busy", 1), second: []string{"create jobs first", "get jobs first"}},
		{name: "connection refused", err: fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED), second: []string{"create jobs first", "get jobs first"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.add(configMaps(t, []v1alpha1.Pool{pool("p", ptrTo[int32](1))}, []v1alpha1.Deployment{deployment("f", "a", "p", nil)}, nil)...)
			f.add(
				newRun(t, "first", 2*time.Second, v1alpha1.RunRequest{Deployment: "f/a"}),
				newRun(t, "second", time.Second, v1alpha1.RunRequest{Deployment: "f/a"}),
			)
			failed := false
			f.client.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if failed {
					// Later tries: AlreadyExists when the first landed.
					return false, nil, nil
				}
				failed = true
				if tc.land {
					job := a.(k8stesting.CreateAction).GetObject()
					if err := f.client.Tracker().Create(batchv1.SchemeGroupVersion.WithResource("jobs"), job, testNS); err != nil {
						t.Fatal(err)
					}
				}
				return true, nil, tc.err
			})
			first := f.pass()
			if !reflect.DeepEqual(first[:1], []string{"create jobs first"}) {
				t.Fatalf("first pass: %q", first)
			}
			_, claimed := f.c.exp.pending("first", f.now)
			if claimed != tc.land {
				t.Errorf("claim held after the lost answer: %v, want %v", claimed, tc.land)
			}
			second := f.pass()
			if tc.second == nil {
				f.expect("pass on a stale cache", second)
				return
			}
			if len(second) < 1 || second[0] != "create jobs first" {
				t.Errorf("second pass: %q, want %q first", second, tc.second[0])
			}
		})
	}
}

func TestCreateOutcomeUnknown(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{apierrors.NewTimeoutError("busy", 1), true},
		{apierrors.NewInternalError(fmt.Errorf("etcd")), true},
		{fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED), false},
		{apierrors.NewForbidden(batchv1.Resource("jobs"), "j", fmt.Errorf("no")), false},
		{apierrors.NewTooManyRequests("slow down", 1), false},
	} {
		if got := createOutcomeUnknown(tc.err); got != tc.want {
			t.Errorf("createOutcomeUnknown(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestOptionsWithDefaults(t *testing.T) {
	d := DefaultOptions()
	if got := (Options{}).withDefaults(); !reflect.DeepEqual(got, d) {
		t.Errorf("zero options: %+v, want DefaultOptions %+v", got, d)
	}
	got := (Options{Workers: -1, StatusBatchPeriod: -1, StatusWriteQPS: -1, StatusWriteMaxLatency: -1, RetentionInterval: time.Minute}).withDefaults()
	if got.Workers != d.Workers || got.StatusBatchPeriod != 0 || got.StatusWriteQPS != -1 || got.StatusWriteMaxLatency != -1 || got.RetentionInterval != time.Minute {
		t.Errorf("negative and set options: %+v", got)
	}
}

// TestScheduleTickSurvivesStopBeforeRecord: a reconciler stopped after a
// tick's run was made but before the tick was recorded leaves its
// successor a state without the tick. The successor fires it again and
// finds the run already there, under the tick's name or, when a submitter
// took that name first, under the second name: one run per tick, none lost.
func TestScheduleTickSurvivesStopBeforeRecord(t *testing.T) {
	for _, squatted := range []bool{false, true} {
		t.Run(fmt.Sprintf("name taken first %v", squatted), func(t *testing.T) {
			f := newFixture(t)
			every := deployment("f", "cron", "p", func(d *v1alpha1.Deployment) {
				d.Schedules = []v1alpha1.Schedule{{Interval: &metav1.Duration{Duration: time.Minute}}}
			})
			f.add(configMaps(t, []v1alpha1.Pool{pool("p", nil)}, []v1alpha1.Deployment{every}, nil)...)
			tick := testNow.Add(time.Minute)
			name := ScheduledRunName(&every, 0, tick)
			if squatted {
				f.add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS}, Data: map[string]string{v1alpha1.KeyRun: "deployment: f/cron\n"}})
			}
			before, err := LoadState(t.Context(), f.client, testNS) // the successor's view: no tick recorded
			if err != nil {
				t.Fatal(err)
			}
			f.c.state = before
			armed := map[string]time.Time{ScheduleID(&every, 0): testNow.Add(30 * time.Second)}
			f.now = testNow.Add(70 * time.Second)
			f.c.fireSchedules(t.Context(), armed)
			first := schedulesRuns(t, f)

			stale, err := LoadState(t.Context(), f.client, testNS)
			if err != nil {
				t.Fatal(err)
			}
			stale.schedules = map[string]time.Time{} // as if stopped before the record
			f.c.state = stale
			f.c.fireSchedules(t.Context(), armed)
			if again := schedulesRuns(t, f); !reflect.DeepEqual(first, again) || len(first) != 1 || !strings.HasPrefix(first[0], name) {
				t.Errorf("runs of the tick: first %v, after the second try %v; want one, named %s or after it", first, again, name)
			}
			if got := f.c.state.lastFired(ScheduleID(&every, 0)); !got.Equal(tick) {
				t.Errorf("last tick recorded %v, want %v", got, tick)
			}
		})
	}
}

// schedulesRuns lists the runs a schedule made, by name.
func schedulesRuns(t *testing.T, f *fixture) []string {
	list, err := f.client.CoreV1().ConfigMaps(testNS).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range list.Items {
		if cm.Annotations[v1alpha1.AnnotationScheduled] != "" {
			names = append(names, cm.Name)
		}
	}
	slices.Sort(names)
	return names
}

// The run cache keeps no namespace index (RunInformer): one entry per run
// for nothing, the cache holding one namespace. Its lister still lists and
// gets every run.
func TestRunCacheHasNoNamespaceIndex(t *testing.T) {
	f := newFixture(t)
	indexers := f.inf.Runs.Informer().GetIndexer().GetIndexers()
	if _, ok := indexers[cache.NamespaceIndex]; ok {
		t.Error("the run cache has a namespace index")
	}
	if _, ok := indexers[runsByStateIndex]; !ok {
		t.Error("the run cache lost its state index")
	}
	f.add(newRun(t, "r1", time.Minute, v1alpha1.RunRequest{Deployment: "hello/default"}), newRun(t, "r2", time.Minute, v1alpha1.RunRequest{Deployment: "hello/default"}))
	runs, err := f.c.runs.List(labels.Everything())
	if err != nil || len(runs) != 2 {
		t.Errorf("listed %d runs (%v), want 2", len(runs), err)
	}
	if cm, err := f.c.runs.Get("r2"); err != nil || cm.Name != "r2" {
		t.Errorf("get r2: %v, %v", cm, err)
	}
	if _, err := f.c.runs.Get("none"); !apierrors.IsNotFound(err) {
		t.Errorf("get of a run not there: %v, want NotFound", err)
	}
}

// The work cache keeps a Job's and a pod's metadata and status, which
// the reconciler reads, and not their specs, which it never does; a
// second trim changes nothing.
func TestTrimWorkKeepsMetadataAndStatus(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "r", UID: "u", Labels: map[string]string{v1alpha1.LabelRunName: "r"}, Annotations: map[string]string{"a": "b"},
		OwnerReferences: []metav1.OwnerReference{{Name: "r", UID: "run", Controller: new(true)}}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}}
	containers := []corev1.Container{{Name: "flow", Image: "i", Args: []string{strings.Repeat("x", 2048)}}}
	job := &batchv1.Job{ObjectMeta: *meta.DeepCopy(), Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}},
		Status: batchv1.JobStatus{Active: 1, Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}}}
	pod := &corev1.Pod{ObjectMeta: *meta.DeepCopy(), Spec: corev1.PodSpec{Containers: containers},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "flow", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}}}}
	wantMeta := *meta.DeepCopy()
	wantMeta.ManagedFields = nil
	for _, tc := range []struct {
		obj  runtime.Object
		want runtime.Object
	}{
		{job, &batchv1.Job{ObjectMeta: wantMeta, Status: *job.Status.DeepCopy()}},
		{pod, &corev1.Pod{ObjectMeta: wantMeta, Status: *pod.Status.DeepCopy()}},
	} {
		once, err := trimWork(tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		twice, err := trimWork(once)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(once, tc.want) || !reflect.DeepEqual(twice, tc.want) {
			t.Errorf("kept %+v, then %+v; want %+v", once, twice, tc.want)
		}
	}
}
