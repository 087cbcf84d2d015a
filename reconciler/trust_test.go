package reconciler

import (
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/sharing"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

func TestStoredStateTrustedOnlyWhenSigned(t *testing.T) {
	s := NewStateForTest([]byte("0123456789abcdef0123456789abcdef"))
	other := NewStateForTest([]byte("fedcba9876543210fedcba9876543210"))
	status := "state: Completed\n"
	run := func(label, st, sig string) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "r", UID: "uid-1", Labels: map[string]string{}, Annotations: map[string]string{}}, Data: map[string]string{v1alpha1.KeyRun: "deployment: a/b\n"}}
		if label != "" {
			cm.Labels[v1alpha1.LabelState] = label
		}
		if st != "" {
			cm.Data[v1alpha1.KeyStatus] = st
		}
		if sig != "" {
			cm.Annotations[v1alpha1.AnnotationSignature] = sig
		}
		return cm
	}
	for _, tc := range []struct {
		name string
		cm   *corev1.ConfigMap
		want v1alpha1.RunState
		// cachedOnly: the case is one of a run the cache took in, its
		// verdict written by a submitter; as stored it cannot be.
		cachedOnly bool
	}{
		{"new run", run("", "", ""), "", false},
		{"signed", run("Completed", status, s.sign("uid-1", v1alpha1.StateCompleted, status)), v1alpha1.StateCompleted, false},
		{"forged label, no signature", run("Completed", status, ""), "", false},
		{"label only, no status", run("Completed", "", ""), "", false},
		{"signature of another key", run("Completed", status, other.sign("uid-1", v1alpha1.StateCompleted, status)), "", false},
		{"signature of another run", run("Completed", status, s.sign("uid-2", v1alpha1.StateCompleted, status)), "", false},
		{"label changed after signing", run("Completed", status, s.sign("uid-1", v1alpha1.StateRunning, status)), "", false},
		{"status changed after signing", run("Completed", "state: Completed\nendTime: 2099-01-01T00:00:00Z\n", s.sign("uid-1", v1alpha1.StateCompleted, status)), "", false},
		{"another process's verdict", run("Completed", status, other.verified), "", false},
		{"this process's verdict, forged", run("Completed", status, s.verified), "", true},
		{"the verdict refusing, forged", run("Completed", status, unverified), "", false},
	} {
		if got := s.stateOf(tc.cm); got != tc.want && !tc.cachedOnly {
			t.Errorf("%s: stateOf = %q, want %q", tc.name, got, tc.want)
		}
		// The cache keeps a verdict for the signature: the same answer,
		// and no signature a run could carry in.
		obj, err := s.trimRun(tc.cm.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		cached := obj.(*corev1.ConfigMap)
		if got := s.stateOf(cached); got != tc.want {
			t.Errorf("%s, as cached: stateOf = %q, want %q", tc.name, got, tc.want)
		}
		if sig := cached.Annotations[v1alpha1.AnnotationSignature]; sig != "" && sig != s.verified && sig != unverified {
			t.Errorf("%s, as cached: signature %q kept, want a verdict", tc.name, sig)
		}
	}
}

// Runs whose one kept annotation is a good signature share one map.
func TestVerdictsShareAnnotations(t *testing.T) {
	s := NewStateForTest([]byte("0123456789abcdef0123456789abcdef"))
	status := "state: Scheduled\n"
	cached := func(uid types.UID, extra map[string]string) *corev1.ConfigMap {
		a := map[string]string{v1alpha1.AnnotationSignature: s.sign(uid, v1alpha1.StateScheduled, status)}
		for k, v := range extra {
			a[k] = v
		}
		obj, err := s.trimRun(&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: string(uid), UID: uid, Annotations: a,
				Labels: map[string]string{v1alpha1.LabelRun: "true", v1alpha1.LabelState: "Scheduled"}},
			Data: map[string]string{v1alpha1.KeyRun: "deployment: a/b\n", v1alpha1.KeyStatus: status},
		})
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*corev1.ConfigMap)
	}
	a, b := cached("uid-a", nil), cached("uid-b", map[string]string{"team": "x"})
	c := cached("uid-c", map[string]string{v1alpha1.AnnotationCancel: "by someone"})
	if reflect.ValueOf(a.Annotations).Pointer() != reflect.ValueOf(b.Annotations).Pointer() {
		t.Error("two runs with only a good signature kept: annotations not shared")
	}
	if reflect.ValueOf(a.Annotations).Pointer() == reflect.ValueOf(c.Annotations).Pointer() || c.Annotations[v1alpha1.AnnotationCancel] != "by someone" {
		t.Errorf("a run with a cancel: annotations %v shared or lost", c.Annotations)
	}
	for _, cm := range []*corev1.ConfigMap{a, b, c} {
		if s.stateOf(cm) != v1alpha1.StateScheduled {
			t.Errorf("%s: not trusted as cached", cm.Name)
		}
	}
}

func TestScheduleTicksKeptInState(t *testing.T) {
	s := NewStateForTest([]byte("0123456789abcdef"))
	tick := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if err := s.fired(t.Context(), "a", tick, map[string]bool{"a": true, "b": true}); err != nil {
		t.Fatal(err)
	}
	if err := s.fired(t.Context(), "b", tick.Add(time.Hour), map[string]bool{"b": true}); err != nil {
		t.Fatal(err)
	}
	if got := s.lastFired("b"); !got.Equal(tick.Add(time.Hour)) {
		t.Errorf("lastFired(b) = %v", got)
	}
	if got := s.lastFired("a"); !got.IsZero() {
		t.Errorf("a schedule no longer live kept its tick: %v", got)
	}
	// Seen off, b forgets its tick for catch-up; firing again clears that.
	if err := s.switchedOff(t.Context(), []string{"b"}, tick.Add(2*time.Hour), map[string]bool{"b": true, "c": true}); err != nil {
		t.Fatal(err)
	}
	if got := s.lastFired("b"); !got.IsZero() {
		t.Errorf("lastFired(b) after it was seen off = %v, want none", got)
	}
	if err := s.fired(t.Context(), "b", tick.Add(3*time.Hour), map[string]bool{"b": true, "c": true}); err != nil {
		t.Fatal(err)
	}
	if err := s.switchedOff(t.Context(), []string{"c"}, tick, map[string]bool{"b": true, "c": true}); err != nil {
		t.Fatal(err)
	}
	if got := s.lastFired("b"); !got.Equal(tick.Add(3 * time.Hour)) {
		t.Errorf("lastFired(b) after firing again = %v", got)
	}
	// b's tick and off mark go when b is no longer live; c's off mark
	// when c fires.
	if err := s.switchedOff(t.Context(), []string{"b"}, tick, map[string]bool{"b": true, "c": true}); err != nil {
		t.Fatal(err)
	}
	if err := s.fired(t.Context(), "c", tick, map[string]bool{"c": true}); err != nil {
		t.Fatal(err)
	}
	if len(s.schedules) != 1 {
		t.Errorf("schedules kept for live ones only: %v", s.schedules)
	}
}

func TestRefusalsBackOff(t *testing.T) {
	var r refusals
	now := time.Unix(1000, 0)
	if _, blocked := r.blocked("u", now); blocked {
		t.Fatal("blocked before any refusal")
	}
	waits := []time.Duration{}
	for range 10 {
		r.add("u", now)
		until, blocked := r.blocked("u", now)
		if !blocked {
			t.Fatal("not blocked after a refusal")
		}
		waits = append(waits, until.Sub(now))
	}
	if waits[0] != refusalFirstWait || waits[1] != 2*refusalFirstWait || waits[9] != refusalMaxWait {
		t.Errorf("waits %v: want %v doubling to %v", waits, refusalFirstWait, refusalMaxWait)
	}
	if _, blocked := r.blocked("u", now.Add(refusalMaxWait)); blocked {
		t.Error("still blocked after the wait")
	}
	r.forget("u")
	r.add("u", now)
	if until, _ := r.blocked("u", now); until.Sub(now) != refusalFirstWait {
		t.Error("forget did not reset the back-off")
	}
}

func TestTrimRunDropsWhatItRefuses(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name    string
		cm      *corev1.ConfigMap
		refused string
		// request is the request kept (planner.RequestData), keys the
		// data keys kept (the status, if any).
		request string
		keys    int
	}{
		{"plain run", &corev1.ConfigMap{Data: map[string]string{v1alpha1.KeyRun: "deployment: a/b\n"}}, "", "deployment: a/b\n", 0},
		{"huge run.yaml", &corev1.ConfigMap{Data: map[string]string{v1alpha1.KeyRun: strings.Repeat("x", 900<<10)}}, "at most", "", 0},
		{"extra key", &corev1.ConfigMap{Data: map[string]string{v1alpha1.KeyRun: "deployment: a/b\n", "blob": strings.Repeat("x", 900<<10)}}, "unexpected data key", "", 0},
		{"immutable", &corev1.ConfigMap{Immutable: &yes, Data: map[string]string{v1alpha1.KeyRun: "deployment: a/b\n", v1alpha1.KeyStatus: "state: Completed\n"}}, "immutable", "", 0},
		{"huge forged status", &corev1.ConfigMap{Data: map[string]string{v1alpha1.KeyRun: "deployment: a/b\n", v1alpha1.KeyStatus: strings.Repeat("x", 300<<10)}}, "", "deployment: a/b\n", 0},
	} {
		obj, err := (*State)(nil).trimRun(tc.cm)
		if err != nil {
			t.Fatal(err)
		}
		cm := obj.(*corev1.ConfigMap)
		if got := cm.Annotations[v1alpha1.AnnotationRefused]; (tc.refused == "") != (got == "") || !strings.Contains(got, tc.refused) {
			t.Errorf("%s: refused %q, want %q", tc.name, got, tc.refused)
		}
		if len(cm.Data) != tc.keys || planner.RequestData(cm) != tc.request {
			t.Errorf("%s: %d data keys and request %.40q kept, want %d and %q", tc.name, len(cm.Data), planner.RequestData(cm), tc.keys, tc.request)
		}
	}
}

// client-go's watch-list trims each object as it streams in, then again
// as the list replaces the cache's: a second trim changes nothing.
func TestTrimRunTwiceIsTrimRunOnce(t *testing.T) {
	s := NewStateForTest([]byte("0123456789abcdef0123456789abcdef"))
	for _, tc := range []struct {
		data    map[string]string
		request string // as kept
	}{
		{map[string]string{v1alpha1.KeyRun: "deployment: a/b\nparameters: {n: 1}\n"}, "deployment: a/b\nparameters: {n: 1}\n"},
		{map[string]string{v1alpha1.KeyRun: "deployment: a/b\n", v1alpha1.KeyStatus: "state: Scheduled\n"}, "deployment: a/b\n"},
		{map[string]string{v1alpha1.KeyRun: "deployment: a/b\n", "extra": "x"}, ""}, // refused
		{map[string]string{v1alpha1.KeyStatus: "state: Completed\n"}, ""},
	} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "r", UID: "u", Labels: map[string]string{v1alpha1.LabelRun: "true"}}, Data: maps.Clone(tc.data)}
		once, err := s.trimRun(cm)
		if err != nil {
			t.Fatal(err)
		}
		first := once.(*corev1.ConfigMap).DeepCopy()
		twice, err := s.trimRun(once)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(twice.(*corev1.ConfigMap), first) || planner.RequestData(first) != tc.request {
			t.Errorf("%v: trimmed once %+v (request %q, want %q), twice %+v", tc.data, first, planner.RequestData(first), tc.request, twice)
		}
	}
}

func TestTrimRunKeepsOnlyWhatTheReconcilerReads(t *testing.T) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: "r", Namespace: "flows", GenerateName: "r-",
			Labels: map[string]string{
				v1alpha1.LabelRun: "true", v1alpha1.LabelState: "Scheduled", v1alpha1.LabelDeployment: "a.b",
				v1alpha1.LabelPool: "p", v1alpha1.LabelQueue: "q", "team": "x",
			},
			Annotations: map[string]string{
				v1alpha1.AnnotationSignature: "sig", v1alpha1.AnnotationCancel: "", "kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 4096),
			},
		},
		Data: map[string]string{v1alpha1.KeyRun: "deployment: a/b\n", v1alpha1.KeyStatus: "state: Scheduled\n"},
	}
	obj, err := (*State)(nil).trimRun(cm)
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*corev1.ConfigMap)
	wantLabels := map[string]string{v1alpha1.LabelState: "Scheduled", v1alpha1.LabelDeployment: "a.b"}
	wantAnnotations := map[string]string{v1alpha1.AnnotationSignature: "sig", v1alpha1.AnnotationCancel: ""}
	if !reflect.DeepEqual(got.Labels, wantLabels) || !reflect.DeepEqual(got.Annotations, wantAnnotations) {
		t.Errorf("kept labels %v and annotations %v, want %v and %v", got.Labels, got.Annotations, wantLabels, wantAnnotations)
	}
	if len(got.Data) != 1 || got.Data[v1alpha1.KeyStatus] != "state: Scheduled\n" || planner.RequestData(got) != "deployment: a/b\n" || got.GenerateName != "" || got.Namespace != "flows" {
		t.Errorf("kept %+v", got)
	}
}

func TestKeepRunMetaSharesEqualMaps(t *testing.T) {
	ptr := func(m map[string]string) uintptr { return reflect.ValueOf(m).Pointer() }
	const req, status = "deployment: a/b\n", "state: Scheduled\nreason: PoolPaused\n"
	kept := func(labels, data map[string]string) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Data: data}
		keepRunMeta(cm)
		return cm
	}
	first := kept(map[string]string{v1alpha1.LabelState: "Scheduled", v1alpha1.LabelDeployment: "a.b", "team": "x"},
		map[string]string{v1alpha1.KeyRun: req, v1alpha1.KeyStatus: status})
	for _, tc := range []struct {
		name                     string
		labels, data             map[string]string
		wantLabels, wantData     map[string]string
		wantRequest              string
		sharedLabels, sharedData bool // the same maps as first's
	}{
		{"same kept labels and data, other labels aside",
			map[string]string{v1alpha1.LabelState: "Scheduled", v1alpha1.LabelDeployment: "a.b", v1alpha1.LabelPool: "p"},
			map[string]string{v1alpha1.KeyRun: req, v1alpha1.KeyStatus: status},
			map[string]string{v1alpha1.LabelState: "Scheduled", v1alpha1.LabelDeployment: "a.b"},
			map[string]string{v1alpha1.KeyStatus: status}, req, true, true},
		{"another request, the same status",
			map[string]string{v1alpha1.LabelState: "Scheduled", v1alpha1.LabelDeployment: "a.b"},
			map[string]string{v1alpha1.KeyRun: "deployment: a/b\nparameters: {n: 1}\n", v1alpha1.KeyStatus: status},
			map[string]string{v1alpha1.LabelState: "Scheduled", v1alpha1.LabelDeployment: "a.b"},
			map[string]string{v1alpha1.KeyStatus: status}, "deployment: a/b\nparameters: {n: 1}\n", true, true},
		{"another state and status",
			map[string]string{v1alpha1.LabelState: "Running", v1alpha1.LabelDeployment: "a.b"},
			map[string]string{v1alpha1.KeyRun: req, v1alpha1.KeyStatus: "state: Running\n"},
			map[string]string{v1alpha1.LabelState: "Running", v1alpha1.LabelDeployment: "a.b"},
			map[string]string{v1alpha1.KeyStatus: "state: Running\n"}, req, false, false},
		{"state label absent, status absent",
			map[string]string{v1alpha1.LabelDeployment: "a.b"},
			map[string]string{v1alpha1.KeyRun: req},
			map[string]string{v1alpha1.LabelDeployment: "a.b"},
			nil, req, false, false},
		{"state label empty, status empty",
			map[string]string{v1alpha1.LabelState: "", v1alpha1.LabelDeployment: "a.b"},
			map[string]string{v1alpha1.KeyRun: req, v1alpha1.KeyStatus: ""},
			map[string]string{v1alpha1.LabelState: "", v1alpha1.LabelDeployment: "a.b"},
			map[string]string{v1alpha1.KeyStatus: ""}, req, false, false},
		{"neither kept", map[string]string{"team": "x"}, map[string]string{"extra": "x"}, nil, nil, "", false, false},
	} {
		got := kept(tc.labels, tc.data)
		if !reflect.DeepEqual(got.Labels, tc.wantLabels) || !reflect.DeepEqual(got.Data, tc.wantData) || planner.RequestData(got) != tc.wantRequest {
			t.Errorf("%s: kept labels %v, data %v and request %q, want %v, %v and %q", tc.name, got.Labels, got.Data, planner.RequestData(got), tc.wantLabels, tc.wantData, tc.wantRequest)
		}
		if (got.Labels != nil && ptr(got.Labels) == ptr(first.Labels)) != tc.sharedLabels {
			t.Errorf("%s: labels shared with the first's: %v, want %v", tc.name, !tc.sharedLabels, tc.sharedLabels)
		}
		if (got.Data != nil && ptr(got.Data) == ptr(first.Data)) != tc.sharedData {
			t.Errorf("%s: data shared with the first's: %v, want %v", tc.name, !tc.sharedData, tc.sharedData)
		}
	}
	// Runs submitted alike keep one request string.
	alike := kept(nil, map[string]string{v1alpha1.KeyRun: strings.Clone(req)})
	if unsafe.StringData(planner.RequestData(alike)) != unsafe.StringData(planner.RequestData(first)) {
		t.Errorf("equal requests are two strings")
	}
	// A status too large for the shared table stays each run's own: the
	// table keeps the keys of runs that have gone, so it holds only small
	// ones. So does a request.
	bigStatus := "state: Failed\nmessage: " + strings.Repeat("x", sharing.MaxBytes) + "\n"
	bigReq := "deployment: a/b\nparameters: {s: " + strings.Repeat("x", sharing.MaxBytes) + "}\n"
	big := map[string]string{v1alpha1.KeyRun: bigReq, v1alpha1.KeyStatus: bigStatus}
	a, b := kept(nil, maps.Clone(big)), kept(nil, map[string]string{v1alpha1.KeyRun: strings.Clone(bigReq), v1alpha1.KeyStatus: bigStatus})
	if a.Data[v1alpha1.KeyStatus] != bigStatus || ptr(a.Data) == ptr(b.Data) {
		t.Errorf("large status: kept %d bytes, shared %v; want all, not shared", len(a.Data[v1alpha1.KeyStatus]), ptr(a.Data) == ptr(b.Data))
	}
	if planner.RequestData(a) != bigReq || unsafe.StringData(planner.RequestData(a)) == unsafe.StringData(planner.RequestData(b)) {
		t.Errorf("large request: kept %d bytes, shared %v; want all, not shared", len(planner.RequestData(a)), unsafe.StringData(planner.RequestData(a)) == unsafe.StringData(planner.RequestData(b)))
	}
}

// A forged run whose labels equal a genuine run's shares its label map in
// the cache, and is still not trusted: the signature binds the run's own
// UID and status, which stay the run's own.
func TestSharedLabelsKeepEachRunsTrust(t *testing.T) {
	s := NewStateForTest([]byte("0123456789abcdef0123456789abcdef"))
	status := "state: Scheduled\nreason: Paused\n"
	sig := s.sign("uid-genuine", v1alpha1.StateScheduled, status)
	run := func(uid types.UID, st, sig string) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: string(uid), UID: uid,
				Labels:      map[string]string{v1alpha1.LabelRun: "true", v1alpha1.LabelState: "Scheduled", v1alpha1.LabelDeployment: "hello.default"},
				Annotations: map[string]string{}},
			Data: map[string]string{v1alpha1.KeyRun: "deployment: hello/default\n", v1alpha1.KeyStatus: st},
		}
		if sig != "" {
			cm.Annotations[v1alpha1.AnnotationSignature] = sig
		}
		obj, err := s.trimRun(cm)
		if err != nil {
			t.Fatal(err)
		}
		return obj.(*corev1.ConfigMap)
	}
	genuine := run("uid-genuine", status, sig)
	if got := s.stateOf(genuine); got != v1alpha1.StateScheduled {
		t.Fatalf("the genuine run: stateOf = %q, want Scheduled", got)
	}
	for _, tc := range []struct {
		name string
		cm   *corev1.ConfigMap
	}{
		{"the genuine run's signature copied", run("uid-forged-1", status, sig)},
		{"no signature", run("uid-forged-2", status, "")},
		{"its own UID, another status", run("uid-genuine", "state: Scheduled\nreason: Forged\n", sig)},
	} {
		if reflect.ValueOf(tc.cm.Labels).Pointer() != reflect.ValueOf(genuine.Labels).Pointer() {
			t.Errorf("%s: labels not shared with the genuine run's", tc.name)
		}
		if got := s.stateOf(tc.cm); got != "" {
			t.Errorf("%s: stateOf = %q, want a new run's", tc.name, got)
		}
	}
	if got := s.stateOf(genuine); got != v1alpha1.StateScheduled {
		t.Errorf("the genuine run after the forged ones: stateOf = %q, want Scheduled", got)
	}
}
