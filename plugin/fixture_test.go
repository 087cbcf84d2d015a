package plugin

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/render"
)

// clock is the fixed "now" of the cluster tests.
var clock = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(clock.Add(d)); return &t }

// fakeCluster is the hello example installed in namespace flows of a fake
// API server, with runs in every state.
type fakeCluster struct {
	client *fake.Clientset
	seq    atomic.Int32
}

var isController = true

// fixtureLimits is the fixture's limits.yaml: a tag limit with a start
// rate and one without.
const fixtureLimits = "- tag: hello\n  limit: 3\n  rate: 2/m\n  burst: 1\n- tag: adhoc\n  limit: 1\n"

func newFakeCluster(t *testing.T, withRuns bool) *fakeCluster {
	t.Helper()
	return newFakeClusterLimits(t, withRuns, fixtureLimits)
}

// newFakeClusterLimits is newFakeCluster with limits.yaml as given.
func newFakeClusterLimits(t *testing.T, withRuns bool, limits string) *fakeCluster {
	t.Helper()
	l, err := project.Load("../examples/hello/flows.yaml", project.LoadOptions{ExtVars: map[string]string{"gitSha": "abc1234"}})
	if err != nil {
		t.Fatal(err)
	}
	// A second schedule of Arthur's, off, with its own parameters and
	// catch-up, as Prefect 3 schedules carry them.
	for i := range l.Deployments {
		if d := &l.Deployments[i]; d.Name == "arthur" {
			off, max := false, int32(3)
			d.Schedules = append(d.Schedules, v1alpha1.Schedule{Cron: "0 18 * * 5", Timezone: "Europe/London", Active: &off,
				Parameters: map[string]any{"name": "Arthur, it is Friday"}, CatchUp: v1alpha1.CatchUpAll, MaxCatchup: &max})
		}
	}
	out, err := render.Render(l, render.Options{Version: "v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	digests := map[string]string{}
	for _, p := range out.Paths() {
		if !strings.HasPrefix(p, "pools/") && !strings.HasPrefix(p, "deployments/") && p != "flows-limits.yaml" {
			continue
		}
		cm := &corev1.ConfigMap{}
		if err := yaml.Unmarshal(out.Files[p], cm); err != nil {
			t.Fatal(err)
		}
		cm.CreationTimestamp = metav1.NewTime(clock.Add(-24 * time.Hour))
		if cm.Name == v1alpha1.LimitsConfigMapName {
			cm.Data[v1alpha1.KeyLimits] = limits
		}
		digests[cm.Name] = v1alpha1.ConfigDigest(cm.Data)
		objs = append(objs, cm)
	}
	// The index as render would write it for this config.
	indexData, err := v1alpha1.ConfigIndexData(digests)
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ConfigIndexName, Namespace: "flows", Labels: map[string]string{v1alpha1.LabelConfig: v1alpha1.ConfigIndex}},
		Data:       indexData,
	})
	fc := &fakeCluster{}
	if withRuns {
		objs = append(objs, fixtureRuns()...)
	}
	fc.client = fake.NewClientset(objs...)
	// The fake API server does not generate names.
	fc.client.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		cm := a.(k8stesting.CreateAction).GetObject().(*corev1.ConfigMap)
		if cm.Name == "" && cm.GenerateName != "" {
			cm.Name = fmt.Sprintf("%sx%04d", cm.GenerateName, fc.seq.Add(1))
		}
		if cm.CreationTimestamp.IsZero() {
			cm.CreationTimestamp = metav1.NewTime(clock)
		}
		return false, nil, nil
	})
	return fc
}

// runCM builds a run ConfigMap as the reconciler leaves it.
func runCM(name, deployment string, created time.Duration, st *v1alpha1.RunStatus, req *v1alpha1.RunRequest) *corev1.ConfigMap {
	if req == nil {
		req = &v1alpha1.RunRequest{Deployment: deployment}
	}
	data, _ := v1alpha1.EncodeRunRequest(req)
	flow, dname, _ := v1alpha1.SplitDeployment(deployment)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "flows", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(clock.Add(created)),
			Labels: map[string]string{
				v1alpha1.LabelRun: "true", v1alpha1.LabelFlow: flow,
				v1alpha1.LabelDeployment: v1alpha1.DeploymentLabelValue(flow, dname),
			},
		},
		Data: map[string]string{v1alpha1.KeyRun: data},
	}
	if st != nil {
		s, _ := v1alpha1.EncodeRunStatus(st)
		cm.Data[v1alpha1.KeyStatus] = s
		cm.Labels[v1alpha1.LabelState] = string(st.State)
		if st.Pool != "" {
			cm.Labels[v1alpha1.LabelPool] = st.Pool
			cm.Labels[v1alpha1.LabelQueue] = st.Queue
		}
	}
	return cm
}

func fixtureRuns() []runtime.Object {
	held := func(state v1alpha1.RunState, reason, msg string, start, end *metav1.Time) *v1alpha1.RunStatus {
		return &v1alpha1.RunStatus{
			State: state, Reason: reason, Message: msg, Pool: "kubernetes", Queue: "default", Tags: []string{"hello"},
			StartTime: start, EndTime: end,
		}
	}
	done := held(v1alpha1.StateCompleted, "Completed", "Job hello-default-done completed", at(-9*time.Minute), at(-8*time.Minute-30*time.Second))
	done.JobName = "hello-default-done"
	done.Parameters = map[string]any{"name": "world"}
	done.Conditions = []metav1.Condition{{Type: "Ready", Status: "True", Reason: "Succeeded", Message: "Job hello-default-done completed", LastTransitionTime: *at(-8*time.Minute - 30*time.Second)}}
	failed := held(v1alpha1.StateFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit", at(-7*time.Minute), at(-6*time.Minute))
	failed.JobName = "hello-default-failed"
	failed.LogTail = "Traceback (most recent call last):\nValueError: no hello today\n"
	running := held(v1alpha1.StateRunning, "Started", "pod hello-arthur-running-abcde is running", at(-2*time.Minute), nil)
	running.JobName = "hello-arthur-running"
	running.Tags = []string{"hello", "adhoc"} // the deployment's and the request's, fixed at admission
	stopping := held(v1alpha1.StateRunning, "Started", "pod hello-default-stopping-fghij is running", at(-4*time.Minute), nil)
	stopping.JobName = "hello-default-stopping"
	// Asked to stop by whoever may edit runs: the annotation the
	// reconciler honours as it honours a cancel request.
	annotated := runCM("hello-default-stopping", "hello/default", -5*time.Minute, stopping, nil)
	annotated.Annotations = map[string]string{v1alpha1.AnnotationCancel: "by ops"}
	later := runCM("hello-default-later", "hello/default", -5*time.Second, &v1alpha1.RunStatus{State: v1alpha1.StateScheduled}, &v1alpha1.RunRequest{Deployment: "hello/default", ScheduledTime: at(time.Hour)})
	cancelLater, _ := v1alpha1.NewCancelRequest(later)
	cancelLater.Name, cancelLater.CreationTimestamp = "hello-default-later-cancel-x0000", *at(-2 * time.Second)
	pending := held(v1alpha1.StatePending, "Unschedulable", "0/4 nodes are available", nil, nil)
	pending.JobName = "hello-default-pending"
	// Evicted on its first attempt, its second due in 40s.
	retrying := held(v1alpha1.StateScheduled, v1alpha1.ReasonRetrying, "attempt 2 of 3 at 2026-11-22T10:00:40Z, after attempt 1 ended Evicted: pod hello-default-retrying-x1: EvictionByEvictionAPI: Eviction API: evicting", nil, nil)
	retrying.JobName, retrying.PendingTime, retrying.Attempt, retrying.MaxAttempts, retrying.RetryTime = "hello-default-retrying", at(-50*time.Second), 2, 3, at(40*time.Second)
	retrying.Retries = &v1alpha1.RetryPolicy{Attempts: 3, Delay: &metav1.Duration{Duration: 40 * time.Second}}
	retrying.Timeout, retrying.PendingTimeout = &metav1.Duration{Duration: 10 * time.Minute}, &metav1.Duration{Duration: time.Minute}
	retrying.Attempts = []v1alpha1.AttemptStatus{{Attempt: 1, JobName: "hello-default-retrying", Outcome: v1alpha1.OutcomeEvicted, Reason: "Evicted", ExitCode: new(int32(137)),
		Message: "pod hello-default-retrying-x1: EvictionByEvictionAPI: Eviction API: evicting", PendingTime: at(-50 * time.Second), StartTime: at(-45 * time.Second), EndTime: at(0)}}
	return []runtime.Object{
		runCM("hello-default-retrying", "hello/default", -55*time.Second, retrying, nil),
		runCM("hello-default-done", "hello/default", -10*time.Minute, done, nil),
		runCM("hello-default-failed", "hello/default", -8*time.Minute, failed, nil),
		runCM("hello-arthur-running", "hello/arthur", -3*time.Minute, running, &v1alpha1.RunRequest{Deployment: "hello/arthur", Tags: []string{"adhoc"}}),
		// Started from inside hello-arthur-running's pod: its child.
		runCM("hello-default-pending", "hello/default", -time.Minute, pending, &v1alpha1.RunRequest{Deployment: "hello/default",
			Parent: &v1alpha1.RunRef{Run: "hello-arthur-running", RunUID: "uid-hello-arthur-running"}}),
		runCM("hello-default-late", "hello/default", -40*time.Second, &v1alpha1.RunStatus{State: v1alpha1.StateScheduled, Reason: "Paused", Message: "queue kubernetes/default is paused"}, nil),
		later, cancelLater, annotated,
		// New: the reconciler has not written its status yet. It counts
		// against its deployment's tag and its own.
		runCM("hello-arthur-waiting", "hello/arthur", -2*time.Second, nil, &v1alpha1.RunRequest{Deployment: "hello/arthur", Tags: []string{"adhoc"}}),
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "hello-arthur-running", Namespace: "flows", UID: "job-uid-1"}, Status: batchv1.JobStatus{Active: 1}},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "hello-arthur-running-abcde", Namespace: "flows", CreationTimestamp: *at(-2 * time.Minute),
				Labels:          map[string]string{v1alpha1.LabelRunName: "hello-arthur-running"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "hello-arthur-running", UID: "job-uid-1", Controller: &isController}}},
			Spec:   corev1.PodSpec{NodeName: "kwok-node-0", Containers: []corev1.Container{{Name: "flow"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning},
		},
		&corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "hello-arthur-running.1", Namespace: "flows"},
			InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Name: "hello-arthur-running", Namespace: "flows"},
			Reason:         "Started", Message: "Pod hello-arthur-running-abcde is running", Type: "Normal",
			Source: corev1.EventSource{Component: "flows-reconciler"}, LastTimestamp: *at(-2 * time.Minute),
		},
	}
}

// kf runs `kubectl flows ARGS` against the fake cluster.
func (fc *fakeCluster) kf(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return fc.kfContext(t, context.Background(), args...)
}

func (fc *fakeCluster) kfContext(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	f := &Factory{Flags: genericclioptions.NewConfigFlags(true), Client: fc.client, Now: func() time.Time { return clock }}
	cmd := NewCmdFlowsWithFactory(f, streams)
	cmd.SetArgs(append([]string{"-n", "flows"}, args...))
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), ExitCode(err)
}
