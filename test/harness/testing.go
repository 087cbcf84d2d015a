package harness

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Main runs a test binary's tests against one shared control plane. Use it
// as the whole of TestMain:
//
//	var cp *harness.ControlPlane
//
//	func TestMain(m *testing.M) { harness.Main(m, harness.Options{}, &cp) }
//
// It starts the control plane, stores it in *cp, runs the tests, stops it
// and exits with the tests' code. SIGINT or SIGTERM stop the control plane
// before the binary exits. Tests share the control plane, so each should
// work in its own namespace (cp.NewNamespace(t)).
func Main(m *testing.M, opts Options, cp **ControlPlane) {
	os.Exit(runMain(m, opts, cp))
}

func runMain(m *testing.M, opts Options, out **ControlPlane) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if opts.RealNode && !ciRequiresRealNode() {
		if err := RealNodeAvailable(); err != nil {
			// Its tests skip (RequireRealNode); the others still run.
			fmt.Fprintf(os.Stderr, "harness: starting without the real node: %v\n", err)
			opts.RealNode = false
		}
	}
	cp, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: starting the control plane: %v\n", err)
		return 1
	}
	*out = cp
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "harness: interrupted; stopping the control plane")
			_ = cp.Stop()
			os.Exit(130)
		case <-stopped:
		}
	}()
	code := m.Run()
	close(stopped)
	if err := cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "harness: stopping the control plane: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Setup starts a control plane for one test (or benchmark) and stops it when
// the test ends. Prefer one per test binary (Main); a start costs seconds.
func Setup(tb testing.TB, opts Options) *ControlPlane {
	tb.Helper()
	if opts.Logf == nil {
		opts.Logf = tb.Logf
	}
	cp, err := Start(context.Background(), opts)
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	tb.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			tb.Errorf("harness: %v", err)
		}
	})
	return cp
}

// ciRequiresRealNode is whether a missing real node is an error (CI=true)
// rather than a reason to skip.
func ciRequiresRealNode() bool { return os.Getenv("CI") == "true" }

// RequireRealNode skips the test, saying how to get a real node, when this
// machine cannot run one (RealNodeAvailable); with CI=true it fails it
// instead, since CI must run every test. Call it first in a test that
// starts or uses a real node.
func RequireRealNode(tb testing.TB) {
	tb.Helper()
	err := RealNodeAvailable()
	if err == nil {
		return
	}
	if ciRequiresRealNode() {
		tb.Fatalf("harness: no real node: %v; CI must have one", err)
	}
	tb.Skipf("harness: no real node: %v", err)
}

// WaitForJob waits until Job namespace/name has condition cond (typically
// batchv1.JobComplete or batchv1.JobFailed) with status True and returns
// it. It fails early if the Job reaches the other terminal condition.
func (cp *ControlPlane) WaitForJob(ctx context.Context, namespace, name string, cond batchv1.JobConditionType, timeout time.Duration) (*batchv1.Job, error) {
	var job *batchv1.Job
	err := WaitFor(ctx, timeout, func(ctx context.Context) (bool, error) {
		j, err := cp.Client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		job = j
		for _, c := range j.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				continue
			}
			if c.Type == cond {
				return true, nil
			}
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Type != cond {
				return false, fmt.Errorf("job %s/%s is %s (%s: %s), want %s", namespace, name, c.Type, c.Reason, c.Message, cond)
			}
		}
		return false, nil
	})
	if err != nil && job != nil {
		err = fmt.Errorf("%w; last status: active=%d ready=%v succeeded=%d failed=%d conditions=%v",
			err, job.Status.Active, ptrVal(job.Status.Ready), job.Status.Succeeded, job.Status.Failed, conditionTypes(job))
	}
	return job, err
}

func ptrVal[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func conditionTypes(j *batchv1.Job) []string {
	var out []string
	for _, c := range j.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s", c.Type, c.Status))
	}
	return out
}
