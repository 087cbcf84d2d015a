package v1alpha1_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// maxMessage bounds every error a run request can produce: a message is
// written back into the run's status, so it must stay short whatever the
// request holds.
const maxMessage = 600

// TestDecodeRunRequest: each rule of DecodeRunRequest, on the input a
// hostile submitter would write, with a message that says what is wrong
// and quotes at most v1alpha1.MaxEcho bytes of the input.
func TestDecodeRunRequest(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	cases := []struct {
		name string
		data string
		want []string // substrings of the error; none means it decodes
	}{
		{name: "valid", data: "deployment: hello/default\nparameters: {name: x}\njobVariables: {env: {A: b}}\ntags: [adhoc, db]\n"},
		{name: "empty", data: "  \n", want: []string{"run.yaml", "missing or empty"}},
		{name: "not yaml", data: "deployment: [\n", want: []string{"not valid YAML"}},
		{name: "unknown key", data: "deployment: hello/default\ndeploymnet: x\n", want: []string{`unknown field "deploymnet"`, "known keys"}},
		{name: "many unknown keys", data: "deployment: hello/default\na: 1\nb: 2\nc: 3\nd: 4\ne: 5\n", want: []string{"and 2 more"}},
		{name: "huge unknown key", data: "deployment: hello/default\n? " + strings.Repeat("k", 50000) + "\n: 1\n", want: []string{"unknown field", "bytes)"}},
		{name: "no deployment", data: "tags: [a]\n", want: []string{"deployment is required"}},
		{name: "not flow/name", data: "deployment: hello\n", want: []string{`deployment "hello" must be flow/name`}},
		{name: "space in deployment", data: "deployment: hello world/default\n", want: []string{`deployment "hello world/default"`, "the flow is not a valid name", "lowercase"}},
		{name: "uppercase name", data: "deployment: hello/Default\n", want: []string{"the name is not a valid name"}},
		{name: "64-character name", data: "deployment: hello/" + strings.Repeat("n", 64) + "\n", want: []string{"no more than 63 characters, got 64"}},
		{name: "60 KB deployment name", data: "deployment: hello/" + strings.Repeat("n", 60000) + "\n", want: []string{"no more than 63 characters", "bytes)"}},
		{name: "1 MB deployment name", data: "deployment: hello/" + long + "\n", want: []string{"run.yaml is 1048595 bytes", "at most 65536 (64 KiB)"}},
		{name: "comma in tag", data: "deployment: hello/default\ntags: [\"x,database\"]\n", want: []string{`tags[0] "x,database"`, "must not contain a comma"}},
		{name: "empty tag", data: "deployment: hello/default\ntags: [\"\"]\n", want: []string{"tags[0]", "must not be empty"}},
		{name: "tag not a label value", data: "deployment: hello/default\ntags: [\"a b\"]\n", want: []string{`tags[0] "a b"`, "a valid label must"}},
		{name: "long tag", data: "deployment: hello/default\ntags: [" + strings.Repeat("t", 64) + "]\n", want: []string{"no more than 63 characters, got 64"}},
		{name: "duplicate tag", data: "deployment: hello/default\ntags: [a, a]\n", want: []string{`tags[1] "a": given more than once`}},
		{name: "too many tags", data: "deployment: hello/default\ntags: [" + strings.TrimSuffix(strings.Repeat("t,", 33), ",") + "]\n", want: []string{"33 given", "at most 32"}},
		{name: "parameters over 32 KiB", data: "deployment: hello/default\nparameters: {blob: " + strings.Repeat("p", 40000) + "}\n", want: []string{"parameters are 40011 bytes as JSON", "at most 32768 (32 KiB)", "annotations"}},
		{name: "job variables over 32 KiB", data: "deployment: hello/default\njobVariables: {env: {A: " + strings.Repeat("v", 40000) + "}}\n", want: []string{"jobVariables are", "at most 32768 (32 KiB)"}},
		{name: "with a parent", data: "deployment: hello/default\nparent: {run: etl-daily-x7k2p, runUID: 0b3c2d}\n"},
		{name: "parent without a UID", data: "deployment: hello/default\nparent: {run: etl-daily-x7k2p}\n", want: []string{"parent.runUID is required"}},
		{name: "parent not a name", data: "deployment: hello/default\nparent: {run: \"a b\", runUID: x}\n", want: []string{`parent.run "a b" is not a run's name`}},
		{name: "parent unknown key", data: "deployment: hello/default\nparent: {run: a, uid: x}\n", want: []string{`unknown field "parent.uid"`}},
		{name: "keys YAML 1.1 reads as booleans, read as written", data: "deployment: hello/default\nparameters: {n: 7, y: 1, on: 2}\njobVariables: {env: {NO: x}}\n"},
		{name: "thousands of them", data: "deployment: hello/default\nparameters: {a: [" + strings.Repeat("{y: 1},", 3900) + "]}\n"},
		{name: "long parameter name", data: "deployment: hello/default\nparameters: {" + strings.Repeat("k", 300) + ": 1}\n", want: []string{"parameters: key", "300 bytes", "at most 253"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r, err := v1alpha1.DecodeRunRequest(tc.data)
			if d := time.Since(start); d > time.Second {
				t.Errorf("decoding took %s", d)
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if r.Deployment != "hello/default" {
					t.Errorf("deployment = %q", r.Deployment)
				}
				for k := range r.Parameters {
					if k == "true" || k == "false" {
						t.Errorf("parameter key %q: a key written otherwise, read as a boolean", k)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("no error for %s", v1alpha1.Truncate(tc.data, 200))
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			if len(msg) > maxMessage {
				t.Errorf("message is %d bytes, want at most %d: %s", len(msg), maxMessage, v1alpha1.Truncate(msg, 300))
			}
		})
	}
}

// TestRunRequestCheck: a request built in code (as `kubectl flows run`
// builds it) meets the same rules.
func TestRunRequestCheck(t *testing.T) {
	cases := []struct {
		name string
		req  v1alpha1.RunRequest
		want string
	}{
		{name: "valid", req: v1alpha1.RunRequest{Deployment: "hello/default", Tags: []string{"adhoc"}}},
		{name: "comma in tag", req: v1alpha1.RunRequest{Deployment: "hello/default", Tags: []string{"x,database"}}, want: "must not contain a comma"},
		{name: "bad deployment", req: v1alpha1.RunRequest{Deployment: "hello world/default"}, want: "the flow is not a valid name"},
		{name: "big parameters", req: v1alpha1.RunRequest{Deployment: "hello/default", Parameters: map[string]any{"x": strings.Repeat("p", 33<<10)}}, want: "at most 32768"},
		{name: "big run.yaml", req: v1alpha1.RunRequest{Deployment: "hello/default", Parameters: map[string]any{"x": strings.Repeat("p", 30<<10)}, JobVariables: map[string]any{"env": map[string]any{"A": strings.Repeat("v", 30<<10), "B": strings.Repeat("w", 30<<10)}}}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Check()
			switch {
			case tc.name == "big run.yaml":
				// Job variables of 60 KiB pass neither their own bound nor,
				// with the parameters, run.yaml's.
				if err == nil || !strings.Contains(err.Error(), "at most") {
					t.Fatalf("want a size error, got %v", err)
				}
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v does not contain %q", err, tc.want)
			}
		})
	}
}

// TestCheckRunObject: what makes a run ConfigMap unusable whatever its
// run.yaml says.
func TestCheckRunObject(t *testing.T) {
	yes := true
	ok := func(mod func(*corev1.ConfigMap)) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "hello-default-x7k2p"},
			Data:       map[string]string{v1alpha1.KeyRun: "deployment: hello/default\n", v1alpha1.KeyStatus: "state: Pending\n"},
		}
		if mod != nil {
			mod(cm)
		}
		return cm
	}
	cases := []struct {
		name string
		cm   *corev1.ConfigMap
		want []string
	}{
		{name: "valid", cm: ok(nil)},
		{name: "a scheduled run's long name", cm: ok(func(cm *corev1.ConfigMap) {
			cm.Name = strings.Repeat("f", 63) + "-" + strings.Repeat("n", 63) + "-s12-20261122-090000"
		})},
		{name: "immutable", cm: ok(func(cm *corev1.ConfigMap) { cm.Immutable = &yes }), want: []string{"immutable", "status could never be written"}},
		{name: "long name", cm: ok(func(cm *corev1.ConfigMap) { cm.Name = strings.Repeat("r", 253) }), want: []string{"253 characters", "at most 160"}},
		{name: "extra key", cm: ok(func(cm *corev1.ConfigMap) { cm.Data["blob"] = "x" }), want: []string{`unexpected data key "blob" (1 in all)`, "only run.yaml"}},
		{name: "binary data", cm: ok(func(cm *corev1.ConfigMap) { cm.BinaryData = map[string][]byte{strings.Repeat("b", 250): nil} }), want: []string{"unexpected data key", "bytes)"}},
		{name: "run.yaml too big", cm: ok(func(cm *corev1.ConfigMap) { cm.Data[v1alpha1.KeyRun] = strings.Repeat("x", 900<<10) }), want: []string{"921600 bytes", "at most 65536"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, v1alpha1.CheckRunObject(tc.cm), tc.want)
		})
	}
}

// TestCheckDeploymentLabel: the deployment label, where there is one, must
// name run.yaml's deployment; the message says what it should be and
// quotes what it was, bounded.
func TestCheckDeploymentLabel(t *testing.T) {
	req := &v1alpha1.RunRequest{Deployment: "etl/load"}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{name: "no labels"},
		{name: "other labels", labels: map[string]string{v1alpha1.LabelRun: "true"}},
		{name: "its deployment", labels: map[string]string{v1alpha1.LabelDeployment: "etl.load"}},
		{name: "another deployment", labels: map[string]string{v1alpha1.LabelDeployment: "etl.extract"},
			want: []string{`label kubectl-flows.dev/deployment is "etl.extract" but run.yaml names deployment "etl/load"`, `must be "etl.load", or left out`}},
		{name: "empty", labels: map[string]string{v1alpha1.LabelDeployment: ""}, want: []string{`is ""`}},
		{name: "long", labels: map[string]string{v1alpha1.LabelDeployment: strings.Repeat("x", 5000)}, want: []string{"label kubectl-flows.dev/deployment is"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, v1alpha1.CheckDeploymentLabel(tc.labels, req), tc.want)
		})
	}
}

// wantError checks that err is nil when want is empty, else an error of
// at most maxMessage bytes that contains each of want.
func wantError(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q: %v", w, err)
		}
	}
	if len(err.Error()) > maxMessage {
		t.Errorf("message is %d bytes", len(err.Error()))
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdefgh", 3, "abc… (8 bytes)"},
		{"héllo", 2, "h… (6 bytes)"}, // never cuts a rune in two
		{"", 0, ""},
	} {
		if got := v1alpha1.Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
