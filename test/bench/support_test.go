package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
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
