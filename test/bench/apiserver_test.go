package main

import (
	"bytes"
	"testing"

	"github.com/google/pprof/profile"
)

// sampleOf is a profile sample whose stack is the functions given,
// innermost first.
func sampleOf(funcs ...string) *profile.Sample {
	s := &profile.Sample{Value: []int64{1, 10_000_000}}
	for _, f := range funcs {
		s.Location = append(s.Location, &profile.Location{Line: []profile.Line{{Function: &profile.Function{Name: f}}}})
	}
	return s
}

func TestWorkOf(t *testing.T) {
	for _, tc := range []struct {
		component string
		stack     []string
		want      string
	}{
		// The innermost frame is the encoder, but the stack is a watch's.
		{"kube-apiserver", []string{"encoding/json.Marshal", "k8s.io/apiserver/pkg/endpoints/handlers.(*WatchServer).HandleHTTP"}, "watch: encoding and sending events to watchers"},
		{"kube-apiserver", []string{"runtime.scanobject", "runtime.gcBgMarkWorker"}, "garbage collection"},
		{"etcd", []string{"go.etcd.io/etcd/server/v3/storage/mvcc.(*watchableStore).notify", "go.etcd.io/etcd/server/v3/storage/mvcc.(*watchableStore).Write"}, "watch: events to the API server's watches"},
		{"etcd", []string{"syscall.Syscall", "go.etcd.io/etcd/server/v3/storage/wal.(*WAL).sync"}, "raft and the write-ahead log"},
		{"etcd", []string{"go.etcd.io/bbolt.(*Tx).Commit", "go.etcd.io/etcd/server/v3/storage/backend.(*backend).run"}, "applying writes and reads: MVCC, bbolt"},
		// A Job's update, decoded by an informer, wakes the Job
		// controller: its handler's work is the Job controller's.
		{"kube-controller-manager", []string{"k8s.io/kubernetes/pkg/controller/job.(*Controller).updateJob", "k8s.io/client-go/tools/cache.(*processorListener).run"}, "the Job controller"},
		{"kube-controller-manager", []string{"k8s.io/api/core/v1.(*Pod).Unmarshal", "k8s.io/client-go/tools/cache.(*Reflector).watch"}, "informers: watch decode and caches"},
		{"kube-controller-manager", []string{"k8s.io/kubernetes/pkg/controller/garbagecollector.(*GraphBuilder).processGraphChanges"}, "the garbage collector (owner references)"},
		{"kube-controller-manager", []string{"runtime.futex", "runtime.schedule"}, "other"},
	} {
		if got := workOf(sampleOf(tc.stack...), profiledWork[tc.component]); got != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.component, tc.stack, got, tc.want)
		}
	}
}

func TestProfileShares(t *testing.T) {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			sampleOf("k8s.io/kubernetes/pkg/controller/job.(*Controller).syncJob"),
			sampleOf("k8s.io/kubernetes/pkg/controller/job.(*Controller).syncJob"),
			sampleOf("k8s.io/client-go/tools/cache.(*Reflector).watch"),
			sampleOf("runtime.futex"),
		},
	}
	// What Write checks: every location and function listed, with an ID.
	for _, s := range p.Sample {
		for _, l := range s.Location {
			l.ID = uint64(len(p.Location) + 1)
			p.Location = append(p.Location, l)
			for _, line := range l.Line {
				line.Function.ID = uint64(len(p.Function) + 1)
				p.Function = append(p.Function, line.Function)
			}
		}
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := profileShares(buf.Bytes(), controllerManagerWork)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"the Job controller": 0.5, "informers: watch decode and caches": 0.25, "other": 0.25}
	if len(got) != len(want) {
		t.Fatalf("shares %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("share of %q = %v, want %v", k, got[k], v)
		}
	}
}
