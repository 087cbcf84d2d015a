package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/reconciler"
	"github.com/kubectl-flows/kubectl-flows/test/fixture"
)

// The floor is what any orchestrator that keeps runs as ConfigMaps pays
// beyond a bare Job, done by the bench itself with no reconciler in
// between: each run's ConfigMap created, its Job created the moment that
// create returns (owned by the run, as a dispatch makes it), and its
// final state patched the moment its Job is seen finished, while the
// watches an orchestrator needs (runs and their Jobs) are open beside the
// bench's own. The 1,000-run targets are ratios to bare Jobs; the floor,
// measured in the same rounds, says how much of a ratio the run's own
// writes take before any code of ours runs.
//
// A dispatcher cannot create a run's Job the moment the run's create
// returns: it learns of the run from a watch. The floor dispatched by a
// watch (byWatch) is the same floor with each Job created as the
// orchestrator's run watch first sees its run, by as many writers as the
// reconciler has and with no other work: the least a dispatch that
// watches for runs waits here, against which the reconciler's dispatch
// latency reads.

// floorHow is how the floor makes its Jobs: as each run's create returns
// or as a watch sees the run; and whether a Job carries, beyond the
// render's preview, what the reconciler's carries (asDispatched), which
// measures what that content costs a create.
type floorHow struct{ byWatch, asDispatched bool }

var (
	floorByCall              = floorHow{}
	floorByWatch             = floorHow{byWatch: true}
	floorByWatchAsDispatched = floorHow{byWatch: true, asDispatched: true}
)

// floorSide is a side of rounds that times n runs at the floor
// (floorBurst), their Jobs made as how says.
func (b *bench) floorSide(name string, n int, how floorHow) side[burst] {
	return side[burst]{name, func(ctx context.Context, settled func() error) (burst, error) {
		return b.floorBurst(ctx, n, how, settled)
	}}
}

// floorBurst creates n runs and their Jobs and writes each run's final
// state, as said above, and waits for every run to be seen Completed.
func (b *bench) floorBurst(ctx context.Context, n int, how floorHow, settled func() error) (burst, error) {
	ns, err := b.cp.CreateNamespace(ctx, "bench-floor")
	if err != nil {
		return burst{}, err
	}
	job, err := b.burstJob()
	if err != nil {
		return burst{}, err
	}
	if err := settled(); err != nil {
		return burst{}, err
	}
	var mu sync.Mutex
	rv := make(map[string]string, n) // run -> resourceVersion, the final write's precondition
	finished := make(chan *batchv1.Job, n)
	// createJob creates a run's Job, as a dispatch makes it.
	createJob := func(run *corev1.ConfigMap) error {
		j := floorJob(job, ns, run.Name, run.UID)
		if how.asDispatched {
			if err := asDispatched(j, time.Now()); err != nil {
				return err
			}
		}
		_, err := b.client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
		return err
	}
	var createCalls atomic.Int64 // nanoseconds, the Job creates of a dispatch by watch
	r, err := b.runsBurst(ctx, ns, n, runsBurst{
		// The orchestrator's watches, what a reconciler's caches follow,
		// and its final writes.
		start: func() func() error {
			var seen chan *corev1.ConfigMap
			if how.byWatch {
				seen = make(chan *corev1.ConfigMap, n)
			}
			ownRuns, err := b.watchRunsFeeding(ctx, ns, seen)
			if err != nil {
				return func() error { return err }
			}
			ownJobs, err := b.watchJobs(ctx, ns)
			if err != nil {
				ownRuns.stop()
				return func() error { return err }
			}
			finals := make(chan error, 1)
			go func() { finals <- b.floorFinals(ctx, ns, n, finished, &mu, rv) }()
			dispatched := make(chan error, 1)
			if how.byWatch {
				go func() { dispatched <- dispatchSeen(ctx, n, seen, createJob, &createCalls) }()
			} else {
				dispatched <- nil
			}
			return func() error {
				ownRuns.stop()
				ownJobs.stop()
				return errors.Join(<-dispatched, <-finals)
			}
		},
		create: func(i int) error {
			run, err := b.client.CoreV1().ConfigMaps(ns).Create(ctx, burstRun(i), metav1.CreateOptions{})
			if err != nil {
				return err
			}
			mu.Lock()
			rv[run.Name] = run.ResourceVersion
			mu.Unlock()
			if how.byWatch {
				return nil
			}
			return createJob(run)
		},
		finished: finished,
	})
	r.createLat = time.Duration(createCalls.Load())
	return r, err
}

// dispatchSeen is the floor's dispatch by watch: each of n runs its watch
// sends on seen gets its Job from createJob, by as many writers as the
// reconciler has, doing nothing else; calls sums the create calls' time
// in nanoseconds.
func dispatchSeen(ctx context.Context, n int, seen <-chan *corev1.ConfigMap, createJob func(*corev1.ConfigMap) error, calls *atomic.Int64) error {
	return fixture.CreateConcurrently(n, reconciler.DefaultOptions().WriteConcurrency, func(int) error {
		select {
		case run := <-seen:
			t := time.Now()
			err := createJob(run)
			calls.Add(int64(time.Since(t)))
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// floorJob is the run's Job: the bench deployment's, named and labelled
// for the run and controlled by it, as the reconciler makes it (less the
// finalizer, which it removes only when the Job goes, after the burst).
func floorJob(job *batchv1.Job, ns, run string, uid types.UID) *batchv1.Job {
	j := job.DeepCopy()
	j.Name, j.Namespace = v1alpha1.JobName(run), ns
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	if j.Spec.Template.Labels == nil {
		j.Spec.Template.Labels = map[string]string{}
	}
	j.Labels[v1alpha1.LabelRunName], j.Spec.Template.Labels[v1alpha1.LabelRunName] = j.Name, j.Name
	controller := true
	j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: run, UID: uid, Controller: &controller}}
	return j
}

// asDispatched gives a floor's Job what the reconciler's Job of a run of
// throughputProject carries beyond the render's preview: the finalizer
// that holds it for its run, and its admission (at now, no parameters of
// its own), tags, attempt and pod watch timeout annotations.
func asDispatched(j *batchv1.Job, now time.Time) error {
	rec, err := json.Marshal(v1alpha1.AdmissionRecord{ScheduledTime: metav1.NewTime(now), AdmittedAt: now.UTC()})
	if err != nil {
		return err
	}
	if j.Annotations == nil {
		j.Annotations = map[string]string{}
	}
	j.Finalizers = append(j.Finalizers, v1alpha1.FinalizerRunProtection)
	j.Annotations[v1alpha1.AnnotationAdmission] = string(rec)
	j.Annotations[v1alpha1.AnnotationTags] = "bench"
	j.Annotations[v1alpha1.AnnotationAttempt] = "1"
	j.Annotations[v1alpha1.AnnotationPodWatchTimeout] = (600 * time.Second).String()
	return nil
}

// floorFinals writes each run's final state as its Job is seen finished,
// from 16 workers, until n are written.
func (b *bench) floorFinals(ctx context.Context, ns string, n int, finished <-chan *batchv1.Job, mu *sync.Mutex, rv map[string]string) error {
	names := make(chan *batchv1.Job)
	go func() {
		defer close(names)
		for range n {
			select {
			case j := <-finished:
				names <- j
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range names {
				run := metav1.GetControllerOfNoCopy(j)
				if run == nil {
					errs <- fmt.Errorf("job %s: no run controls it", j.Name)
					return
				}
				mu.Lock()
				version := rv[run.Name]
				mu.Unlock()
				body, err := floorFinalPatch(j, version)
				if err == nil {
					_, err = b.client.CoreV1().ConfigMaps(ns).Patch(ctx, run.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "bench-floor"})
				}
				if err != nil {
					errs <- fmt.Errorf("run %s: final state: %w", run.Name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// floorFinalPatch is a Completed run's final write, shaped as the
// reconciler's (writeStatus): its state and end labels, the labels
// get and describe select by, a signature, and the status.
func floorFinalPatch(j *batchv1.Job, version string) ([]byte, error) {
	end := metav1.Now()
	start := j.CreationTimestamp
	if j.Status.StartTime != nil {
		start = *j.Status.StartTime
	}
	if j.Status.CompletionTime != nil {
		end = *j.Status.CompletionTime
	}
	status, err := v1alpha1.EncodeRunStatus(&v1alpha1.RunStatus{
		State: v1alpha1.StateCompleted, JobName: j.Name, Pool: "bench", Queue: "default", Tags: []string{"bench"},
		ScheduledTime: &j.CreationTimestamp, PendingTime: &j.CreationTimestamp, StartTime: &start, EndTime: &end,
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{
			"resourceVersion": version,
			"labels": map[string]string{
				v1alpha1.LabelState: string(v1alpha1.StateCompleted), v1alpha1.LabelEnded: v1alpha1.EndedLabelValue(end.Time),
				v1alpha1.LabelDeployment: v1alpha1.DeploymentLabelValue("bench", "burst"), v1alpha1.LabelFlow: "bench",
				v1alpha1.LabelPool: "bench", v1alpha1.LabelQueue: "default",
			},
			// The length of a real signature (a SHA-256 HMAC in base64).
			"annotations": map[string]string{v1alpha1.AnnotationSignature: "floor-signature-of-the-length-of-a-real-one"},
		},
		"data": map[string]string{v1alpha1.KeyStatus: status},
	})
}

// floorRows adds the floor's figures beside bare Jobs, and kubectl-flows'
// beside the floor's, from the rounds of throughput.
func (b *bench) floorRows(n int, rounds []round[burst], base, floor []burst) {
	how := "each run's ConfigMap created by the bench's 16 workers, its Job (owned by the run) created as soon as that create returns, " +
		"its final state patched (as the reconciler's write) as soon as its Job is seen finished, a run watch and a Job watch open as an orchestrator's beside the bench's own; no reconciler"
	b.add(row{
		figure:   fmt.Sprintf("N=%d, the floor (a run's own writes, no reconciler): first create to all finished", n),
		baseline: values(rounds, sideBaseline, tookSeconds).seconds(), flows: values(rounds, sideFloor, tookSeconds).seconds(),
		ratio:  ratios(rounds, sideFloor, sideBaseline, tookSeconds).ratio(),
		target: fmt.Sprintf("none: the least a run kept as a ConfigMap costs here, which the ≤%.2f targets include", burstTarget),
		note:   how + "; median (range) of the rounds, the ratio the median of the cycles' own, alternating with the other sides",
	})
	b.add(row{
		figure:   fmt.Sprintf("CPU time of all processes over the N=%d burst, the floor", n),
		baseline: values(rounds, sideBaseline, cpuSeconds).seconds(), flows: values(rounds, sideFloor, cpuSeconds).seconds(),
		ratio: ratios(rounds, sideFloor, sideBaseline, cpuSeconds).ratio(),
		target: fmt.Sprintf("none; kube-apiserver CPU per run %.1f ms at the floor against %.1f ms bare (%.2f)",
			1000*apiserverPerRun(floor, n), 1000*apiserverPerRun(base, n), apiserverPerRun(floor, n)/apiserverPerRun(base, n)),
		note: fmt.Sprintf("mean seconds by process: %s; the configmap writes of one round: %s", cpuSplit(meanCPU(floor)), floor[0].cost.byVerb("configmaps")),
	})
	b.add(row{
		figure:   fmt.Sprintf("N=%d, kubectl-flows to the floor: first create to all finished, and CPU", n),
		baseline: values(rounds, sideFloor, tookSeconds).seconds(), flows: values(rounds, sideFlows, tookSeconds).seconds(),
		ratio:  ratios(rounds, sideFlows, sideFloor, tookSeconds).ratio(),
		target: "none: what the reconciler adds to a run's own writes",
		note: fmt.Sprintf("CPU of all processes to the floor's: %s; the ratio the median of the cycles' own",
			ratios(rounds, sideFlows, sideFloor, cpuSeconds).ratio()),
	})
}

// floorLeftOver adds what the 1,000-run targets leave kubectl-flows once
// the floor is paid, against what it took beyond the floor, cycle by
// cycle: whether a target can be met by any reconciler, and where what
// the reconciler adds goes, by process.
func (b *bench) floorLeftOver(n int, rounds []round[burst], floor, flows []burst) {
	type weighed struct {
		name   string
		target float64
		value  func(burst) float64
	}
	var left, took []string
	for _, w := range []weighed{{"time", burstTarget, tookSeconds}, {"CPU", burstTarget, cpuSeconds}, {"kube-apiserver CPU", apiserverTarget, apiserverSeconds}} {
		l, t := leftOver(rounds, sideFlows, sideFloor, sideBaseline, w.target, w.value)
		left, took = append(left, w.name+" "+l.signedSeconds()), append(took, w.name+" "+t.signedSeconds())
	}
	b.add(row{
		figure:   fmt.Sprintf("N=%d, beyond the floor: what the targets leave (baseline column) and what kubectl-flows took (time; CPU of all processes; kube-apiserver CPU)", n),
		baseline: strings.Join(left, "; "), flows: strings.Join(took, "; "),
		target: "none: a target can be met only where what kubectl-flows took fits in what is left",
		note: fmt.Sprintf("by cycle, what is left is the target (%.2f for time and CPU, %.2f for kube-apiserver) times bare Jobs' figure less the floor's, what was taken kubectl-flows' less the floor's; ", burstTarget, apiserverTarget) +
			"median (range) of the cycles'; the CPU taken, by process, kubectl-flows' mean less the floor's (at the floor the bench itself does the orchestrator's work): " +
			cpuBeyond(meanCPU(flows), meanCPU(floor)),
	})
}

// tookSeconds and cpuSeconds are a burst's time, first create to all
// finished, and the CPU of all processes over it.
func tookSeconds(r burst) float64 { return r.took.Seconds() }
func cpuSeconds(r burst) float64  { return totalCPU(r.cpu).Seconds() }

// apiserverSeconds is the kube-apiserver's CPU over a burst.
func apiserverSeconds(r burst) float64 { return r.cpu["kube-apiserver"].Seconds() }

// latencyP50 and latencyP99 are a burst's dispatch latency percentiles, in
// seconds.
func latencyP50(r burst) float64 { return pct(r.lat, 50).Seconds() }
func latencyP99(r burst) float64 { return pct(r.lat, 99).Seconds() }

// cpuPerRun is a process's CPU seconds per run (or Job) of the rounds, on
// average; process is its name as cpuByProcess counts it.
func cpuPerRun(rs []burst, n int, process string) float64 {
	if len(rs) == 0 {
		return 0
	}
	var sum float64
	for _, r := range rs {
		sum += r.cpu[process].Seconds()
	}
	return sum / float64(len(rs)) / float64(n)
}

// apiserverPerRun is the kube-apiserver's CPU seconds per run.
func apiserverPerRun(rs []burst, n int) float64 { return cpuPerRun(rs, n, "kube-apiserver") }

// watchFloorLatency adds the dispatch latency at the floor dispatched by a
// watch beside bare Jobs' and kubectl-flows', from the rounds of
// throughput.
func (b *bench) watchFloorLatency(n int, rounds []round[burst], base, watchFloor, flows []burst) {
	b.add(row{
		figure:   "dispatch latency during the N=1000 burst, the floor dispatched by a watch (p50 / p90 / p99)",
		baseline: p50p90p99(pooledLatencies(base)),
		flows:    p50p90p99(pooledLatencies(watchFloor)),
		ratio:    ratios(rounds, sideWatchFloor, sideBaseline, latencyP50).ratio(),
		target: "none: the least a dispatch that learns of runs from a watch waits here, which the p50 ≤1.2× target includes; " +
			"kubectl-flows' p50 to it, by cycle, " + ratios(rounds, sideFlows, sideWatchFloor, latencyP50).ratio(),
		note: fmt.Sprintf("the floor's writes, each run's Job created the moment the orchestrator's run watch first sees the run, by %d writers "+
			"(the reconciler's) doing nothing else; measured as kubectl-flows' is, the ratio the median (range) of the cycles' p50s to bare Jobs'; "+
			"by the API server's creation stamps, run created to Job created, mean %s (kubectl-flows' %s), the Job create call %s on average (the reconciler's %s), "+
			"of which the API server's own time %s (the reconciler's %s), and on the bench's own run creates, the same requests on either side, %s (beside the reconciler %s); "+
			"first create to all finished %s, to bare %s; CPU of all processes to bare %s",
			reconciler.DefaultOptions().WriteConcurrency, dur(meanStampLatency(watchFloor)), dur(meanStampLatency(flows)),
			dur(meanCreateLatency(watchFloor, n)), dur(meanCreateLatency(flows, n)),
			dur(meanServerTime(watchFloor, "jobs", "POST")), dur(meanServerTime(flows, "jobs", "POST")),
			dur(meanServerTime(watchFloor, "configmaps", "POST")), dur(meanServerTime(flows, "configmaps", "POST")), values(rounds, sideWatchFloor, tookSeconds).seconds(),
			ratios(rounds, sideWatchFloor, sideBaseline, tookSeconds).ratio(), ratios(rounds, sideWatchFloor, sideBaseline, cpuSeconds).ratio()),
	})
}

// meanCreateLatency is the mean Job create call of bursts of n runs.
func meanCreateLatency(rs []burst, n int) time.Duration {
	var sum time.Duration
	for _, r := range rs {
		sum += r.createLat
	}
	if len(rs) == 0 {
		return 0
	}
	return sum / time.Duration(n*len(rs))
}

// meanServerTime is the API server's own mean time on a kind of request
// over bursts (apiserver_request_duration_seconds), from its arrival to
// its answer: what of a client's call is not the client's.
func meanServerTime(rs []burst, resource, verb string) time.Duration {
	var seconds, requests float64
	for _, r := range rs {
		seconds += r.api.seconds[resource][verb]
		requests += r.api.requests[resource][verb]
	}
	if requests == 0 {
		return 0
	}
	return time.Duration(seconds / requests * float64(time.Second))
}

// jobCreateSeconds and runCreateSeconds are the API server's own mean time
// on a burst's Job creates and on its run creates.
func jobCreateSeconds(r burst) float64 { return meanServerTime([]burst{r}, "jobs", "POST").Seconds() }
func runCreateSeconds(r burst) float64 {
	return meanServerTime([]burst{r}, "configmaps", "POST").Seconds()
}

// jobContentRow adds what the content of the reconciler's Job costs its
// create (BENCH_JOB_CONTENT=1): the watch floor creating that Job against
// the watch floor creating the render's preview, in the same cycles, with
// the run creates beside each as the control for how loaded the API
// server was.
func (b *bench) jobContentRow(ctx context.Context, rounds []round[burst], watchFloor, watchFloorJob, flows []burst) {
	same := "the same"
	if floor, err := b.jobMetadataKeys(ctx, watchFloorJob[0].ns); err != nil {
		same = err.Error()
	} else if rec, err := b.jobMetadataKeys(ctx, flows[0].ns); err != nil {
		same = err.Error()
	} else if !slices.Equal(floor, rec) {
		same = fmt.Sprintf("not the same: the watch floor's %s, the reconciler's %s", strings.Join(floor, ", "), strings.Join(rec, ", "))
	}
	b.add(row{
		figure:   "Job create during the N=1000 burst, the API server's own time (mean): the watch floor with the reconciler's Job",
		baseline: dur(meanServerTime(watchFloor, "jobs", "POST")),
		flows:    dur(meanServerTime(watchFloorJob, "jobs", "POST")),
		ratio:    ratios(rounds, sideWatchFloorJob, sideWatchFloor, jobCreateSeconds).ratio(),
		target:   "none: whether the Job's content explains the reconciler's slower creates",
		note: fmt.Sprintf("baseline: the watch floor's Job, the render's preview; beside it, the same with what the reconciler's Job carries beyond it "+
			"(its finalizer; its admission, tags, attempt and pod watch timeout annotations); the ratio the median (range) of the cycles' own; "+
			"the run creates beside them %s and %s, by cycle %s; dispatch latency p50 by cycle %s; kubectl-flows' own Job creates %s, its run creates %s; "+
			"the two Jobs' label and annotation keys and finalizers: %s",
			dur(meanServerTime(watchFloor, "configmaps", "POST")), dur(meanServerTime(watchFloorJob, "configmaps", "POST")),
			ratios(rounds, sideWatchFloorJob, sideWatchFloor, runCreateSeconds).ratio(),
			ratios(rounds, sideWatchFloorJob, sideWatchFloor, latencyP50).ratio(),
			dur(meanServerTime(flows, "jobs", "POST")), dur(meanServerTime(flows, "configmaps", "POST")), same),
	})
}

// jobMetadataKeys lists, sorted, the label and annotation keys and the
// finalizers of a Job in ns: what the watch floor's Job is to share with
// the reconciler's.
func (b *bench) jobMetadataKeys(ctx context.Context, ns string) ([]string, error) {
	l, err := b.client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(l.Items) == 0 {
		return nil, fmt.Errorf("no Job in %s", ns)
	}
	j := l.Items[0]
	var keys []string
	for k := range j.Labels {
		keys = append(keys, "label "+k)
	}
	for k := range j.Annotations {
		keys = append(keys, "annotation "+k)
	}
	for _, f := range j.Finalizers {
		keys = append(keys, "finalizer "+f)
	}
	slices.Sort(keys)
	return keys, nil
}
