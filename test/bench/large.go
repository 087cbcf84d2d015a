package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/render"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// largeRuns: the reconciler's memory with 200 run ConfigMaps of 900 KiB
// each, as a hostile submitter may make them (a ConfigMap may hold 1 MiB),
// beside the same reconciler idle, against the memory limit render gives
// its container. The reconciler runs with the GOMEMLIMIT the rendered
// Deployment sets from that limit. A third of the runs carry the bulk in
// run.yaml (Rejected: too large), a third in a data key of their own
// (Rejected: unknown key), a third in a forged status.yaml (a valid run:
// admitted, run, and its status replaced by the reconciler's).
func (b *bench) largeRuns(ctx context.Context) error {
	const n, size = 200, 900 << 10
	fmt.Printf("large runs: %d run ConfigMaps of %d KiB\n", n, size>>10)
	p, err := b.installProject(ctx, "bench-large", throughputProject)
	if err != nil {
		return err
	}
	ns, dir := p.Namespace, p.Dir
	limit, err := renderedMemoryLimit(p.Output)
	if err != nil {
		return err
	}
	env, err := renderedRuntimeEnv(p.Output)
	if err != nil {
		return err
	}
	metricsAddr := freeAddr()
	metrics := "http://" + metricsAddr + "/metrics"
	// The Rejected runs name no pool, so the default retention keeps the
	// newest 100 of them (reconciler.DefaultRetentionCount): a pruning
	// pass during the part would delete the oldest of the 134 before
	// they were counted, as it did on a loaded machine. None runs here.
	rec, err := fixture.StartReconcilerWithEnv(b.bin, dir, b.cp.Kubeconfig, ns, env,
		append(p.ReconcilerArgs(), "--metrics-bind-address="+metricsAddr, "--retention-interval=1h")...)
	if err != nil {
		return err
	}
	defer func() { rec.Terminate(); <-rec.Done() }()
	if err := waitHTTP(ctx, metrics); err != nil {
		return err
	}
	if err := waitReconciling(ctx, rec); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	pid := rec.Cmd.Process.Pid
	idleRSS, _, err := procUsage(pid)
	if err != nil {
		return err
	}

	t0 := time.Now()
	rejected, err := b.createLargeRuns(ctx, ns, n, size)
	if err != nil {
		return err
	}
	created := time.Since(t0)
	if err := b.waitLabelled(ctx, ns, map[v1alpha1.RunState]int{v1alpha1.StateRejected: rejected, v1alpha1.StateCompleted: n - rejected}, 5*time.Minute); err != nil {
		// The bench's directory goes when it exits: the log is kept in -out.
		kept := filepath.Join(b.out, "reconciler-large.log")
		if log, rerr := os.ReadFile(rec.Log); rerr == nil && os.MkdirAll(b.out, 0o755) == nil {
			_ = os.WriteFile(kept, log, 0o644)
		}
		return fmt.Errorf("%w (reconciler log %s)", err, kept)
	}
	settled := time.Since(t0)
	rss, _, err := procUsage(pid)
	if err != nil {
		return err
	}
	peak, err := peakRSS(pid)
	if err != nil {
		return err
	}
	select {
	case <-rec.Done():
		return fmt.Errorf("the reconciler exited (log %s)", rec.Log)
	default:
	}
	b.add(row{
		figure:   fmt.Sprintf("reconciler RSS, %d runs of %d KiB (peak)", n, size>>10),
		baseline: mib(idleRSS), flows: fmt.Sprintf("%s (%s)", mib(rss), mib(peak)),
		target: fmt.Sprintf("< %s (rendered limit)", mib(limit)),
		note: fmt.Sprintf("baseline: the same reconciler idle, in the same run; %s as the rendered Deployment sets; %d Rejected (bulk in run.yaml or an extra key), %d Completed (bulk in a forged status.yaml); created in %s, all final %s after the first create",
			strings.Join(env, " "), rejected, n-rejected, dur(created), dur(settled)),
	})
	return nil
}

// createLargeRuns creates n run ConfigMaps, each with size bytes of bulk:
// in run.yaml's parameters or an extra key, which the reconciler rejects,
// or in a forged status.yaml, which it takes as Completed. It returns how
// many are to be rejected.
func (b *bench) createLargeRuns(ctx context.Context, ns string, n, size int) (rejected int, err error) {
	bulk := strings.Repeat("x", size)
	// Four at a time: each create is most of a megabyte on the wire.
	err = fixture.CreateConcurrently(n, 4, func(i int) error {
		cm := fixture.RunRequest(fmt.Sprintf("large-%03d", i), "deployment: bench/burst\n")
		switch i % 3 {
		case 0:
			cm.Data[v1alpha1.KeyRun] = "deployment: bench/burst\nparameters: {blob: " + bulk + "}\n"
		case 1:
			cm.Data["notes"] = bulk
		case 2:
			cm.Data[v1alpha1.KeyStatus] = "state: Completed\nmessage: " + bulk + "\n"
		}
		_, err := b.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
		return err
	})
	for i := range n {
		if i%3 != 2 {
			rejected++
		}
	}
	return rejected, err
}

// renderedMemoryLimit is the memory limit of the reconciler's container in
// the rendered reconciler.yaml, in bytes.
func renderedMemoryLimit(out *render.Output) (int64, error) {
	c, err := renderedReconciler(out)
	if err != nil {
		return 0, err
	}
	q, ok := c.Resources.Limits["memory"]
	if !ok {
		return 0, fmt.Errorf("reconciler.yaml: the reconciler's container has no memory limit")
	}
	return q.Value(), nil
}

// renderedRuntimeEnv is the environment the rendered reconciler's
// container gives the Go runtime (GOMEMLIMIT from its memory limit, GOGC
// and the like as literal values), for the bench to run it as an install
// would.
func renderedRuntimeEnv(out *render.Output) ([]string, error) {
	c, err := renderedReconciler(out)
	if err != nil {
		return nil, err
	}
	var env []string
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, "GO") {
			continue
		}
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
			limit, err := renderedMemoryLimit(out)
			if err != nil {
				return nil, err
			}
			env = append(env, e.Name+"="+strconv.FormatInt(limit, 10))
		}
	}
	return env, nil
}

// renderedReconciler is the reconciler's container in the rendered
// reconciler.yaml.
func renderedReconciler(out *render.Output) (corev1.Container, error) {
	for _, doc := range bytes.Split(out.Files["reconciler.yaml"], []byte("\n---\n")) {
		d := &appsv1.Deployment{}
		if yaml.Unmarshal(bytes.TrimPrefix(doc, []byte(render.Header)), d) != nil || d.Kind != "Deployment" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == "reconciler" {
				return c, nil
			}
		}
	}
	return corev1.Container{}, fmt.Errorf("reconciler.yaml: no Deployment with a container named reconciler")
}

// waitLabelled polls the runs' state labels, reading metadata only (the
// runs themselves are most of a megabyte each), until want holds for each
// state.
func (b *bench) waitLabelled(ctx context.Context, ns string, want map[v1alpha1.RunState]int, timeout time.Duration) error {
	md, err := metadata.NewForConfig(b.cp.Config)
	if err != nil {
		return err
	}
	cms := md.Resource(corev1.SchemeGroupVersion.WithResource("configmaps")).Namespace(ns)
	deadline := time.Now().Add(timeout)
	for {
		var missing []string
		seen := map[string]bool{}
		for state, n := range want {
			list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelState + "=" + string(state)})
			if err != nil {
				return err
			}
			if got := len(list.Items); got != n {
				missing = append(missing, fmt.Sprintf("%d of %d runs %s", got, n, state))
			}
			for _, cm := range list.Items {
				seen[cm.Name] = true
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			all, err := cms.List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var unsettled []string
			for _, cm := range all.Items {
				if !seen[cm.Name] && cm.Labels[v1alpha1.LabelRun] == "true" {
					unsettled = append(unsettled, cm.Name+" ("+cm.Labels[v1alpha1.LabelState]+")")
				}
			}
			sort.Strings(unsettled)
			return fmt.Errorf("after %v: %s; not there: %s", timeout, strings.Join(missing, ", "), strings.Join(unsettled, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
