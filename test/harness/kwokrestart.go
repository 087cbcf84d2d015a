package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// RestartKwok stops kwok and starts it again with the same configuration,
// and returns once its watch of pods is open again and it plays every pod
// on the fake nodes, those it had in flight too (about 11 s). The fake
// nodes stay Ready: their heartbeats' grace outlasts the restart.
//
// kwok (v0.8) opens its watch of pods from resourceVersion "0", so the API
// server replays every scheduled pod of the cluster to it each time the
// watch opens, and its client ends the watch after a random 5 to 10
// minutes. Where thousands of finished pods are kept, as make bench keeps
// every round's, the watch ending during a round made kwok take in all of
// them again in the middle of the burst, and again each time the API server
// dropped it for lagging: that round ran 2.5 times as long as its
// neighbours, at 50 s more of kwok's CPU. Restarted just before a round,
// kwok takes them in once, before the round is timed, and its new watch
// outlives any round of the bench.
func (cp *ControlPlane) RestartKwok(ctx context.Context) error {
	before, err := cp.clusterPodWatches(ctx)
	if err != nil {
		return fmt.Errorf("restarting kwok: %w", err)
	}
	cp.mu.Lock()
	i := slices.IndexFunc(cp.procs, func(p *proc) bool { return p.name == "kwok" })
	var old *proc
	if i >= 0 {
		old = cp.procs[i]
		cp.procs = slices.Delete(cp.procs, i, i+1)
	}
	cp.mu.Unlock()
	if old == nil {
		return errors.New("restarting kwok: it is not running")
	}
	if err := old.stop(5 * time.Second); err != nil {
		return fmt.Errorf("restarting kwok: %w", err)
	}
	// Its watches end with its connection; the count without them is the
	// one the new process's watch adds to.
	without := before
	_ = WaitFor(ctx, 10*time.Second, func(ctx context.Context) (bool, error) {
		n, err := cp.clusterPodWatches(ctx)
		if err != nil {
			return false, nil
		}
		without = min(without, n)
		return n < before, nil
	})
	// A lease names the process that holds it, and a new kwok waits out
	// its predecessor's (40 s) before it plays that node's pods again;
	// without one it takes the node at once.
	for _, node := range cp.Nodes {
		err := cp.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, node, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("restarting kwok: deleting the lease of node %s: %w", node, err)
		}
	}
	if err := cp.startKwok(); err != nil {
		return fmt.Errorf("restarting kwok: %w", err)
	}
	err = WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		n, err := cp.clusterPodWatches(ctx)
		return err == nil && n > without, nil
	})
	if err != nil {
		return fmt.Errorf("restarting kwok: its watch of pods did not open: %w", err)
	}
	if err := cp.waitKwokLeasesRenewed(ctx); err != nil {
		return fmt.Errorf("restarting kwok: %w", err)
	}
	if err := cp.touchKwokPodsInFlight(ctx); err != nil {
		return fmt.Errorf("restarting kwok: %w", err)
	}
	return nil
}

// kwok plays a node's pods only while its cache of leases shows that
// node's lease as its own, and a pod it skips for that reason it skips for
// good: it looks again only when the pod changes. A new kwok takes in the
// pods (its watch, and a list of a node's pods once it has created that
// node's lease) racing its own watch of the lease it just created; where
// the lease comes second, a pod in flight never finished. kwok renews a
// lease from that cache, a quarter of the lease's duration (10 s) after
// creating it, so a renewed lease shows the cache holds it; from then on
// kwok plays what it sees, and the pods it may have skipped are touched so
// that it sees them again.
const kwokLeaseRenewed = 5 * time.Second

// waitKwokLeasesRenewed waits until kwok has renewed the lease of every
// fake node at least once since creating it.
func (cp *ControlPlane) waitKwokLeasesRenewed(ctx context.Context) error {
	err := WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		leases, err := cp.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		renewed := map[string]bool{}
		for _, l := range leases.Items {
			renewed[l.Name] = leaseRenewed(&l)
		}
		for _, node := range cp.Nodes {
			if !renewed[node] {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("its nodes' leases were not renewed: %w", err)
	}
	return nil
}

// leaseRenewed says whether a lease's holder has renewed it since creating
// it. kwok creates a lease with its renewal time set to the moment of
// creation, and renews it 10 s later.
func leaseRenewed(l *coordinationv1.Lease) bool {
	return l.Spec.HolderIdentity != nil && l.Spec.RenewTime != nil &&
		l.Spec.RenewTime.Sub(l.CreationTimestamp.Time) >= kwokLeaseRenewed
}

// AnnotationKwokRestarted is set on the pods kwok had in flight when it
// restarted (RestartKwok), to the time of the restart.
const AnnotationKwokRestarted = "harness.kubectl-flows.dev/kwok-restarted"

// touchKwokPodsInFlight annotates every pod on a fake node that has not
// finished, so that kwok takes it in again.
func (cp *ControlPlane) touchKwokPodsInFlight(ctx context.Context) error {
	pods, err := cp.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{
		FieldSelector: "status.phase!=Succeeded,status.phase!=Failed",
	})
	if err != nil {
		return fmt.Errorf("listing the pods in flight: %w", err)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		AnnotationKwokRestarted: time.Now().UTC().Format(time.RFC3339Nano),
	}}})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		if !slices.Contains(cp.Nodes, p.Spec.NodeName) {
			continue
		}
		_, err := cp.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("touching pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	return nil
}

// clusterPodWatches is how many watches of pods across all namespaces the
// API server is serving, by its own count.
func (cp *ControlPlane) clusterPodWatches(ctx context.Context) (int, error) {
	fams, err := cp.APIServerMetrics(ctx)
	if err != nil {
		return 0, err
	}
	return podWatchCount(fams), nil
}

// podWatchCount sums apiserver_longrunning_requests over its samples for
// cluster-wide watches of pods.
func podWatchCount(fams map[string]*dto.MetricFamily) int {
	n := 0
	for _, m := range fams["apiserver_longrunning_requests"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["resource"] == "pods" && labels["scope"] == "cluster" && labels["verb"] == "WATCH" {
			n += int(m.GetGauge().GetValue())
		}
	}
	return n
}
