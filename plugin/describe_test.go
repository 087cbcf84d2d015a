package plugin

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/internal/golden"
)

func TestDescribeGolden(t *testing.T) {
	fc := newFakeCluster(t, true)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"describe-run-running.txt", []string{"describe", "run", "hello-arthur-running"}},
		{"describe-run-failed.txt", []string{"describe", "run", "hello-default-failed"}},
		{"describe-run-child.txt", []string{"describe", "run", "hello-default-pending"}},
		{"describe-run-retrying.txt", []string{"describe", "run", "hello-default-retrying"}},
		{"describe-deployment.txt", []string{"describe", "deployment", "hello/arthur"}},
		{"describe-pool.txt", []string{"describe", "pool", "kubernetes"}},
		{"describe-queue.txt", []string{"describe", "queue", "kubernetes/default"}},
		{"describe-tag.txt", []string{"describe", "tag", "hello"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, code := fc.kf(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Check(t, filepath.Join("testdata", tc.golden), []byte(out))
		})
	}
	if _, errOut, code := fc.kf(t, "describe", "run", "hello-default-dnoe"); code != 1 || !strings.Contains(errOut, "did you mean hello-default-done") {
		t.Errorf("%d %s", code, errOut)
	}
}
