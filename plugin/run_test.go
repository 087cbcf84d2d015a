package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

func TestRunCreatesRequest(t *testing.T) {
	fc := newFakeCluster(t, false)
	out, errOut, code := fc.kf(t, "run", "hello/default", "-p", "name=Arthur", "-p", "count=3", "-p", `items=[1,"a"]`,
		"-j", "memory_request=2Gi", "--tag", "adhoc", "--in", "10m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	name := strings.TrimSpace(out)
	if !strings.HasPrefix(name, "hello-default-") {
		t.Fatalf("printed %q", out)
	}
	cm, err := fc.client.CoreV1().ConfigMaps("flows").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[v1alpha1.LabelRun] != "true" || cm.Labels[v1alpha1.LabelDeployment] != "hello.default" {
		t.Errorf("labels %v", cm.Labels)
	}
	req, err := v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun])
	if err != nil {
		t.Fatal(err)
	}
	if req.Deployment != "hello/default" || req.Parameters["name"] != "Arthur" || fmt.Sprint(req.Parameters["count"]) != "3" ||
		len(req.Parameters["items"].([]any)) != 2 || req.JobVariables["memory_request"] != "2Gi" ||
		req.Tags[0] != "adhoc" || !req.ScheduledTime.Time.Equal(clock.Add(10*time.Minute)) {
		t.Errorf("request %+v", req)
	}
}

// TestRunParamsFileKeysAsWritten: a parameter named n in a --params-file
// is n, not the boolean YAML 1.1 reads; a value yes is still true.
func TestRunParamsFileKeysAsWritten(t *testing.T) {
	fc := newFakeCluster(t, false)
	file := filepath.Join(t.TempDir(), "params.yaml")
	if err := os.WriteFile(file, []byte("name: Arthur\nn: 7\nflag: yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := fc.kf(t, "run", "hello/default", "--params-file", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	cm, err := fc.client.CoreV1().ConfigMaps("flows").Get(context.Background(), strings.TrimSpace(out), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(req.Parameters["n"]) != "7" || req.Parameters["flag"] != true || len(req.Parameters) != 3 {
		t.Errorf("parameters %v, want name, n 7 and flag true", req.Parameters)
	}
}

func TestRunValidation(t *testing.T) {
	fc := newFakeCluster(t, false)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "hello/defualt"}, 1, "did you mean hello/default"},
		{[]string{"run", "hello"}, 1, `"hello" is ambiguous`},
		{[]string{"run", "hello/default", "-p", "name=3"}, ExitRejected, "not submitted: parameters do not match parameterSchema: parameter \"name\": expected string, got number"},
		{[]string{"run", "hello/default", "-j", "memory_request=5"}, ExitRejected, `not submitted: job variable "memory_request"`},
		{[]string{"run", "hello/default", "-j", "image=evil", "-j", "labels={\"app\":\"payments\"}"}, ExitRejected,
			`not submitted: job variables "image", "labels" may not be set by a run (allowed: cpu_limit, cpu_request, env, memory_limit, memory_request; an operator can allow more with runOverrides on the pool or deployment)`},
		{[]string{"run", "hello/default", "--tag", "x,database"}, ExitRejected, `not submitted: tags[0] "x,database": must not contain a comma`},
		{[]string{"run", "hello/default", "--tag", " "}, ExitRejected, `not submitted: tags[0] " ": must not be empty`},
		{[]string{"run", "hello/default", "-p", "blob=" + strings.Repeat("p", 40000)}, ExitRejected, "not submitted: parameters are 40011 bytes as JSON; a run may give at most 32768 (32 KiB)"},
		{[]string{"run", "hello/default", "-p", "novalue"}, 1, "want KEY=VALUE"},
		{[]string{"run", "hello/default", "--wait", "--watch"}, 1, "do not go together"},
		{[]string{"run", "hello/default", "--timeout", "1m"}, 1, "--timeout needs --wait"},
		{[]string{"run", "hello/default", "--at", "tomorrow"}, 1, "RFC 3339"},
	} {
		_, errOut, code := fc.kf(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d %q, want %d %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	// --validate=false leaves the schemas and the allow-list to the
	// reconciler, but not the rules every request must meet.
	if _, errOut, code := fc.kf(t, "run", "hello/default", "-p", "name=3", "-j", "image=x", "--validate=false"); code != 0 {
		t.Errorf("--validate=false: %d %s", code, errOut)
	}
	if _, errOut, code := fc.kf(t, "run", "hello/default", "--tag", "a,b", "--validate=false"); code != ExitRejected || !strings.Contains(errOut, "comma") {
		t.Errorf("--validate=false with a comma in a tag: %d %s", code, errOut)
	}
	// A bare deployment name that only one flow has is enough.
	if out, errOut, code := fc.kf(t, "run", "arthur"); code != 0 || !strings.HasPrefix(out, "hello-arthur-") {
		t.Errorf("run arthur: %d %s %s", code, out, errOut)
	}
}

// finishRuns plays the reconciler: each new run goes Pending, Running and
// then to the state its name asks for.
func (fc *fakeCluster) finishRuns(t *testing.T, ctx context.Context, final map[string]v1alpha1.RunState) {
	w, err := fc.client.CoreV1().ConfigMaps("flows").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok || ev.Type != watch.Added || cm.Labels[v1alpha1.LabelRun] != "true" {
				continue
			}
			var end v1alpha1.RunState
			for prefix, s := range final {
				if strings.Contains(cm.Name, prefix) {
					end = s
				}
			}
			for _, st := range []*v1alpha1.RunStatus{
				{State: v1alpha1.StatePending, Reason: "Dispatched", Message: "Job created", Pool: "kubernetes", Queue: "default"},
				{State: v1alpha1.StateRunning, Reason: "Started", Message: "pod is running", StartTime: at(0)},
				{State: end, Reason: string(end) + "Reason", Message: "it ended", StartTime: at(0), EndTime: at(3 * time.Second), LogTail: "last words\n"},
			} {
				time.Sleep(20 * time.Millisecond)
				cur, err := fc.client.CoreV1().ConfigMaps("flows").Get(ctx, cm.Name, metav1.GetOptions{})
				if err != nil {
					return
				}
				data, _ := v1alpha1.EncodeRunStatus(st)
				cur.Data[v1alpha1.KeyStatus] = data
				cur.Labels[v1alpha1.LabelState] = string(st.State)
				if _, err := fc.client.CoreV1().ConfigMaps("flows").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
					return
				}
			}
		}
	}()
}

func TestRunWaitExitCodes(t *testing.T) {
	fc := newFakeCluster(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fc.finishRuns(t, ctx, map[string]v1alpha1.RunState{
		"ok": v1alpha1.StateCompleted, "fail": v1alpha1.StateFailed, "crash": v1alpha1.StateCrashed,
		"cancel": v1alpha1.StateCancelled, "reject": v1alpha1.StateRejected,
	})
	time.Sleep(100 * time.Millisecond)
	for _, tc := range []struct {
		name string
		code int
	}{{"ok", 0}, {"fail", ExitFailed}, {"crash", ExitCrashed}, {"cancel", ExitCancelled}, {"reject", ExitRejected}} {
		out, errOut, code := fc.kf(t, "run", "hello/default", "--name", "r-"+tc.name, "--wait", "--timeout", "10s")
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.code, out, errOut)
		}
		if tc.code == ExitFailed && !strings.Contains(errOut, "last words") {
			t.Errorf("a failed run's log tail is not shown: %s", errOut)
		}
	}
	// --watch prints each state.
	out, _, code := fc.kf(t, "run", "hello/default", "--name", "w-ok", "--watch", "--timeout", "10s")
	if code != 0 {
		t.Fatalf("watch: %d", code)
	}
	for _, s := range []string{"Scheduled", "Pending    Dispatched: Job created", "Running    Started", "Completed  CompletedReason: it ended"} {
		if !strings.Contains(out, s) {
			t.Errorf("--watch output lacks %q:\n%s", s, out)
		}
	}
	// -o json with --wait: the final run object on stdout, the exit status
	// as without it.
	out, _, code = fc.kf(t, "run", "hello/default", "--name", "j-fail", "--wait", "-o", "json", "--timeout", "10s")
	var obj struct {
		Kind   string `json:"kind"`
		Status struct {
			State, Reason string
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil || code != ExitFailed || obj.Kind != "Run" || obj.Status.State != "Failed" || obj.Status.Reason != "FailedReason" {
		t.Errorf("--wait -o json: exit %d, %v, %+v:\n%s", code, err, obj, out)
	}
	// Nobody finishes this one: timeout is 6.
	cancel()
	_, errOut, code := fc.kf(t, "run", "hello/default", "--name", "t-slow", "--wait", "--timeout", "300ms")
	if code != ExitTimeout || !strings.Contains(errOut, "timed out after 300ms") {
		t.Errorf("timeout: exit %d %s", code, errOut)
	}
	// A name that exists.
	if _, errOut, code := fc.kf(t, "run", "hello/default", "--name", "t-slow"); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("duplicate name: %d %s", code, errOut)
	}
}

// TestRunRecordsParent: inside a run's pod (FLOWS_RUN_NAME is its Job's
// name) the run request names that run, by name and UID, as its parent;
// a FLOWS_RUN_NAME that names no run starts a run without one.
func TestRunRecordsParent(t *testing.T) {
	fc := newFakeCluster(t, true)
	long := "hello-arthur-" + strings.Repeat("x", 70)
	if _, err := fc.client.CoreV1().ConfigMaps("flows").Create(context.Background(), runCM(long, "hello/arthur", -time.Minute, nil, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env, want string
	}{
		{"hello-arthur-running", "hello-arthur-running"},
		{v1alpha1.JobName(long), long}, // a run whose name was too long for its Job's
		{"no-such-run", ""},
	} {
		t.Setenv("FLOWS_RUN_NAME", tc.env)
		out, errOut, code := fc.kf(t, "run", "hello/default", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var obj struct {
			Spec v1alpha1.RunRequest `json:"spec"`
		}
		if err := json.Unmarshal([]byte(out), &obj); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		got := ""
		if p := obj.Spec.Parent; p != nil {
			got = p.Run
			if p.RunUID != types.UID("uid-"+tc.want) {
				t.Errorf("FLOWS_RUN_NAME=%s: parent UID %q", tc.env, p.RunUID)
			}
		}
		if got != tc.want {
			t.Errorf("FLOWS_RUN_NAME=%s: parent %q, want %q", tc.env, got, tc.want)
		}
		if tc.want == "" && !strings.Contains(errOut, "started without a parent") {
			t.Errorf("no warning for a FLOWS_RUN_NAME naming no run: %q", errOut)
		}
	}
}
