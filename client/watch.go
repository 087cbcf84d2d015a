package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// Watch keeps the namespace's config, runs and cancel requests in caches
// (list and watch), for the views that follow the project live: `get -w`
// and the dashboard. Its snapshots are assembled as Client.Snapshot's.
type Watch struct {
	c                     *Client
	config, runs, cancels cache.SharedIndexInformer
	// jobs caches the runs' Jobs that have not succeeded, when the user
	// may read Jobs: a snapshot shows from them the runs started whose
	// status is yet to say so (withStarted). Set by Start.
	jobs cache.SharedIndexInformer
}

// Watch returns the caches; Start runs them.
func (c *Client) Watch() *Watch {
	return &Watch{c: c,
		config:  c.configMapInformer(v1alpha1.LabelConfig),
		runs:    c.configMapInformer(v1alpha1.LabelRun + "=true"),
		cancels: c.configMapInformer(v1alpha1.LabelCancelRequest + "=true"),
	}
}

// Start runs the caches until ctx ends (wg counts them), calling changed
// on every change, and waits for them to fill: false if ctx ended first.
func (w *Watch) Start(ctx context.Context, wg *sync.WaitGroup, changed func()) bool {
	informers := []cache.SharedIndexInformer{w.config, w.runs, w.cancels}
	if w.c.CanI(ctx, "list", "jobs.batch") && w.c.CanI(ctx, "watch", "jobs.batch") {
		w.jobs = w.c.unsucceededJobsInformer()
		informers = append(informers, w.jobs)
	}
	run(ctx, wg, changed, informers...)
	synced := make([]cache.InformerSynced, len(informers))
	for i, inf := range informers {
		synced[i] = inf.HasSynced
	}
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// Snapshot is the project as the caches last saw it.
func (w *Watch) Snapshot() *Snapshot {
	s := NewSnapshot(w.c.ns, w.c.now(), storeConfigMaps(w.config.GetStore()), storeConfigMaps(w.runs.GetStore()), storeConfigMaps(w.cancels.GetStore()))
	if w.jobs == nil {
		return s
	}
	store := w.jobs.GetStore()
	withJobs, err := withStarted(s, func(names []string) ([]metav1.Object, error) {
		var out []metav1.Object
		for _, n := range names {
			if obj, ok, _ := store.GetByKey(w.c.ns + "/" + n); ok {
				if m, ok := obj.(metav1.Object); ok {
					out = append(out, m)
				}
			}
		}
		return out, nil
	})
	if err != nil {
		return s
	}
	return withJobs
}

// unsucceededJobsInformer caches the namespace's Jobs of runs that have
// not succeeded (runObjectsInformer). Retention keeps the succeeded Jobs
// of thousands of finished runs, which no waiting run has and no run page
// follows.
func (c *Client) unsucceededJobsInformer() cache.SharedIndexInformer {
	jobs := c.kube.BatchV1().Jobs(c.ns)
	return c.runObjectsInformer(batchv1.SchemeGroupVersion.WithResource("jobs"), "status.successful=0", &batchv1.Job{},
		func(with func(*metav1.ListOptions)) *cache.ListWatch { return listWatch(jobs.List, jobs.Watch, with) })
}

// runObjectsInformer caches the namespace's objects of a resource that
// carry LabelRunName and match a field selector (one the API server serves
// for the resource, so what is left out is never sent): metadata only when
// the client has a metadata client, else whole, through typed.
func (c *Client) runObjectsInformer(gvr schema.GroupVersionResource, field string, obj runtime.Object, typed func(with func(*metav1.ListOptions)) *cache.ListWatch) cache.SharedIndexInformer {
	with := func(o *metav1.ListOptions) { o.LabelSelector, o.FieldSelector = v1alpha1.LabelRunName, field }
	if c.meta != nil {
		r := c.meta.Resource(gvr).Namespace(c.ns)
		lw := cache.ToListWatcherWithWatchListSemantics(listWatch(r.List, r.Watch, with), c.meta)
		return cache.NewSharedIndexInformer(lw, &metav1.PartialObjectMetadata{}, 0, cache.Indexers{})
	}
	return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(typed(with), c.kube), obj, 0, cache.Indexers{})
}

// Run is a run as the cache last saw it.
func (w *Watch) Run(name string) (*RunInfo, bool) {
	obj, ok, _ := w.runs.GetStore().GetByKey(w.c.ns + "/" + name)
	if !ok {
		return nil, false
	}
	return ReadRun(obj.(*corev1.ConfigMap)), true
}

// WatchRunPods runs a cache of the pods of runs (labelled with their run's
// Job name) until ctx ends, only to call changed: a run page changes with
// them (waiting reasons) before the run's own state does, as it does with
// its Jobs, which Watch.Start caches already for a user who may read them.
// Only the pods not succeeded, and only their metadata when the client has
// a metadata client (an update sends it anew): with retention's thousands
// of finished runs, their pods whole would be most of the dashboard's
// memory.
func (c *Client) WatchRunPods(ctx context.Context, wg *sync.WaitGroup, changed func()) {
	pods := c.kube.CoreV1().Pods(c.ns)
	run(ctx, wg, changed, c.runObjectsInformer(corev1.SchemeGroupVersion.WithResource("pods"), "status.phase!=Succeeded", &corev1.Pod{},
		func(with func(*metav1.ListOptions)) *cache.ListWatch { return listWatch(pods.List, pods.Watch, with) }))
}

func run(ctx context.Context, wg *sync.WaitGroup, changed func(), informers ...cache.SharedIndexInformer) {
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { changed() },
		UpdateFunc: func(any, any) { changed() },
		DeleteFunc: func(any) { changed() },
	}
	for _, inf := range informers {
		_, _ = inf.AddEventHandler(handler)
		wg.Add(1)
		go func() { defer wg.Done(); inf.RunWithContext(ctx) }()
	}
}

// configMapInformer caches the namespace's ConfigMaps matching a label
// selector.
func (c *Client) configMapInformer(sel string) cache.SharedIndexInformer {
	cms := c.kube.CoreV1().ConfigMaps(c.ns)
	lw := listWatch(cms.List, cms.Watch, withLabels(sel))
	return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, c.kube), &corev1.ConfigMap{}, 0, cache.Indexers{})
}

func storeConfigMaps(store cache.Store) []corev1.ConfigMap {
	items := store.List()
	out := make([]corev1.ConfigMap, 0, len(items))
	for _, it := range items {
		if cm, ok := it.(*corev1.ConfigMap); ok {
			out = append(out, *cm)
		}
	}
	return out
}

// listWatch is a ListWatch over a typed client's List and Watch, with the
// options set by with (a label or field selector).
func listWatch[L runtime.Object](list func(context.Context, metav1.ListOptions) (L, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error), with func(*metav1.ListOptions)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			with(&opts)
			return list(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			with(&opts)
			return watchFn(ctx, opts)
		},
	}
}

// withLabels sets a label selector on list and watch options.
func withLabels(sel string) func(*metav1.ListOptions) {
	return func(o *metav1.ListOptions) { o.LabelSelector = sel }
}

// runWatcher lists and watches one run's ConfigMap.
func (c *Client) runWatcher(name string) cache.ListerWatcher {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	cms := c.kube.CoreV1().ConfigMaps(c.ns)
	lw := listWatch(cms.List, cms.Watch, func(o *metav1.ListOptions) { o.FieldSelector = sel })
	return cache.ToListWatcherWithWatchListSemantics(lw, c.kube)
}

// FollowRun follows a run until it ends, calling seen with each version
// of it, and returns it as last seen (nil if never). It fails with ctx's
// error when ctx ends first (context.DeadlineExceeded for a timeout), and
// when the run is deleted before it ends.
func (c *Client) FollowRun(ctx context.Context, name string, seen func(*RunInfo)) (*RunInfo, error) {
	var last *RunInfo
	_, err := watchtools.UntilWithSync(ctx, c.runWatcher(name), &corev1.ConfigMap{}, nil, func(ev watch.Event) (bool, error) {
		cm, ok := ev.Object.(*corev1.ConfigMap)
		if !ok || cm.Name != name {
			return false, nil
		}
		switch ev.Type {
		case watch.Deleted:
			return false, &RunDeletedError{Run: name}
		case watch.Added, watch.Modified:
			last = ReadRun(cm)
			seen(last)
			return last.State().Final(), nil
		}
		return false, nil
	})
	switch {
	case err == nil:
		return last, nil
	case ctx.Err() != nil:
		return last, ctx.Err()
	case strings.Contains(err.Error(), "timed out waiting"):
		return last, context.DeadlineExceeded
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return last, err
	case errors.As(err, new(*RunDeletedError)):
		return last, err
	}
	return last, c.Explain(err, "watch", "configmaps")
}

// FollowWaiting calls seen with the view of a waiting run each time the
// namespace changes, until ctx ends: its place in line changes as the runs
// before it start, while its own object does not, so the whole namespace
// is watched.
func (c *Client) FollowWaiting(ctx context.Context, name string, seen func(*RunView)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan struct{}, 1)
	w := c.Watch()
	if !w.Start(ctx, &wg, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		s := w.Snapshot()
		if r := s.Run(name); r != nil && r.Waiting() {
			v := s.ViewRun(r)
			seen(&v)
		}
	}
}

// RunDeletedError is a run deleted while it was followed.
type RunDeletedError struct{ Run string }

func (e *RunDeletedError) Error() string {
	return fmt.Sprintf("run %s was deleted before it ended", e.Run)
}
