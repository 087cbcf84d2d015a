package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// The limit watch reports the waiting count the reconciler's metrics give
// when the peak RSS passes the limit, and says so when it never does.
// This process stands in for the reconciler: its own peak is far above one
// byte and far below a petabyte.
func TestLimitWatch(t *testing.T) {
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, `flows_runs{state="Scheduled"} 40`)
		fmt.Fprintln(w, `flows_runs{state="Late"} 2`)
		fmt.Fprintln(w, `flows_runs{state="Running"} 7`)
	}))
	defer metrics.Close()
	ctx := context.Background()

	w := watchLimit(ctx, os.Getpid(), 1, metrics.URL)
	<-w.done
	if got := w.passedAt(); !strings.Contains(got, "passed") || !strings.Contains(got, "with 42 runs counted waiting") {
		t.Errorf("limit of one byte: %q", got)
	}

	w = watchLimit(ctx, os.Getpid(), 1<<50, metrics.URL)
	if got := w.passedAt(); !strings.Contains(got, "stayed under") {
		t.Errorf("limit of a petabyte: %q", got)
	}
}

func TestCPUBeyond(t *testing.T) {
	s := func(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }
	got := cpuBeyond(
		map[string]time.Duration{"kube-apiserver": s(41.3), "flows-reconcile": s(5.1), "bench": s(2.8), "etcd": s(6.42)},
		map[string]time.Duration{"kube-apiserver": s(39.3), "bench": s(3.7), "etcd": s(6.4), "kwok": s(0.3)},
	)
	if want := "flows-reconcile +5.1, kube-apiserver +2.0, bench −0.9, kwok −0.3"; got != want {
		t.Errorf("cpuBeyond = %q, want %q", got, want)
	}
}
