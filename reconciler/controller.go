// Package reconciler is the in-cluster half of kubectl-flows: it watches the
// project's config and run-request ConfigMaps and turns each run request into
// exactly one batch/v1 Job, never exceeding a pool, queue, deployment or tag
// limit, and writes each run's state back to its ConfigMap.
//
// It follows the Job controller's shape: informers, a rate-limited
// workqueue, reconcile functions that read state and converge it, and
// expectations so that a stale cache never causes a second Job or an
// over-admitted slot.
package reconciler

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	batchinformers "k8s.io/client-go/informers/batch/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/sharing"
	"github.com/kubectl-flows/kubectl-flows/planner"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// dispatchKey is the workqueue key of the global dispatch pass; it cannot
// clash with a ConfigMap name. The queue coalesces it, so a burst of events
// costs one pass.
const dispatchKey = "#dispatch"

// Options tune a Controller.
type Options struct {
	Namespace string
	// Workers is how many keys are reconciled at once.
	Workers int
	// WriteConcurrency is how many dispatch writes run at once. A burst
	// of runs comes from many clients at once; with fewer writers than
	// they have, Job creates fall behind the run creates while the API
	// server is saturated.
	WriteConcurrency int
	// StatusBatchPeriod batches the Pending and Running writes a run's Job
	// and pods call for, as the Job controller batches its own status
	// (syncJobBatchPeriod): a run whose pod starts within it goes straight
	// to Running, one write fewer under load. Final states are written at
	// once, and slots never wait for a write.
	StatusBatchPeriod time.Duration
	// StatusWriteQPS and StatusWriteBurst budget the Pending and Running
	// writes: progress reports, which under a burst would cost the API
	// server as much again as the Jobs themselves. Past the budget a run's
	// progress write waits 5 batch periods and is often overtaken by the
	// next state; final states and slots never wait. Zero means
	// DefaultOptions'; a negative QPS means no budget.
	StatusWriteQPS   float32
	StatusWriteBurst int
	// StatusWriteMaxLatency holds back progress writes while the
	// reconciler's own writes take longer than this on average: the API
	// server is saturated, and a report would only delay the dispatches
	// and final states queued behind it. A held progress state is written
	// once it has lasted 30 s. Zero means DefaultOptions'; negative,
	// never held.
	StatusWriteMaxLatency time.Duration
	// StartupGrace is how long a new leader waits before its first pass,
	// so that a write a dead predecessor had on the wire lands first.
	StartupGrace time.Duration
	// RetentionInterval is how often finished runs are pruned.
	RetentionInterval time.Duration
	// ConfigDigest is the digest of the config index that render wrote
	// beside the config (v1alpha1.TrustedConfig); config not listed in it
	// is ignored. Empty trusts no config: runs wait.
	ConfigDigest string
	// State holds the signing key and the schedules' last ticks
	// (LoadState); nil means a key of this process's own, for tests.
	State   *State
	Logger  *slog.Logger
	Metrics *Metrics
	// NotificationRetryFor bounds how long one notification is retried
	// (with back-off, from a second doubling to 30 s) before the
	// reconciler gives up on it and records so.
	NotificationRetryFor time.Duration
	// NotificationClient sends notifications; nil means one with a 10 s
	// timeout.
	NotificationClient *http.Client
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// Controller reconciles runs.
type Controller struct {
	client kubernetes.Interface
	opts   Options
	log    *slog.Logger

	configs      corelisters.ConfigMapNamespaceLister
	runs         runLister
	jobs         batchlisters.JobNamespaceLister
	pods         cache.Indexer           // by podsByJobIndex
	progress     flowcontrol.RateLimiter // budget of Pending and Running writes
	load         writeLoad               // how long our writes take
	runIndex     cache.Indexer           // by runsByStateIndex
	cancels      cache.Indexer           // cancel requests, by cancelsByRunIndex
	cancelLister corelisters.ConfigMapNamespaceLister
	jobIndex     cache.Indexer // by slot kind, unfinished Jobs only
	synced       []cache.InformerSynced

	queue workqueue.TypedRateLimitingInterface[string]
	exp   *expectations
	state *State
	// refusals back off runs whose writes the API server refuses.
	refusals refusals
	// slotWaiters says the last dispatch pass left a run waiting for a
	// slot (or a pass is under way): only then does a freed slot call for
	// a pass. In a burst that no limit binds, a pass per finished Job was
	// half of the reconciler's dispatch work, all of it finding nothing.
	slotWaiters atomic.Bool
	// nextPass (unix nanoseconds) spaces passes called by events: after a
	// pass that took d, the next waits passSpacing×d, so passes take at
	// most a quarter of a core however fast runs arrive: passes over
	// thousands of waiting runs, back to back, each finding one more,
	// would otherwise keep a core busy.
	nextPass atomic.Int64
	lastPass atomic.Int64 // how long the last pass took to decide
	cfgCache configCache
	parsed   planner.RunCache
	recorder record.EventRecorder
	metrics  *Metrics
	notify   *notifier

	// writes carries dispatch passes' decisions to the writer pool;
	// inflight holds the runs whose decided write is not done yet.
	writes   chan pending
	inflight sync.Map

	// starts are the Job creates this process made, for tag rates.
	starts startLog

	// firstSeen is when each run was first seen, for dispatch latency.
	firstSeenMu sync.Mutex
	firstSeen   map[string]time.Time
}

// Informers are the caches a Controller reads. Each comes from an informer
// factory of its own, built with FactoryOptions; Jobs and Pods share one.
type Informers struct {
	Configs        coreinformers.ConfigMapInformer // FactoryOptions(ns, ConfigCache)
	Runs           coreinformers.ConfigMapInformer // RunCache, through RunInformer
	CancelRequests coreinformers.ConfigMapInformer // CancelCache
	Jobs           batchinformers.JobInformer      // WorkCache
	Pods           coreinformers.PodInformer       // WorkCache
}

// Cache names an informer factory of the reconciler's.
type Cache int

const (
	ConfigCache Cache = iota // config ConfigMaps
	RunCache                 // run requests
	CancelCache              // cancel requests
	WorkCache                // runs' Jobs and their pods
)

// FactoryOptions are the options of the informer factory of one cache:
// the reconciler's namespace, the label that selects the cache's objects
// and the transform that keeps only what the reconciler reads of them.
// state is the one the Controller is given (Options.State): the run cache
// checks each run's signature as it takes the run in (State.trimRun).
func FactoryOptions(ns string, c Cache, state *State) []informers.SharedInformerOption {
	selector, transform := v1alpha1.LabelConfig, cache.TransformFunc(stripManagedFields)
	switch c {
	case RunCache:
		selector, transform = runSelector, state.trimRun
	case CancelCache:
		selector, transform = v1alpha1.LabelCancelRequest+"=true", trimCancelRequest
	case WorkCache:
		selector, transform = v1alpha1.LabelRunName, trimWork
	}
	return []informers.SharedInformerOption{
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }),
		informers.WithTransform(transform),
	}
}

// runSelector selects the run requests.
const runSelector = v1alpha1.LabelRun + "=true"

// RunInformer is the run cache's informer from its factory (built with
// FactoryOptions(ns, RunCache, state)): the one the factory would make,
// without the namespace index every generated informer carries. The cache
// holds one namespace, so that index is one more entry per run for
// nothing, ten thousand with ten thousand runs waiting.
func RunInformer(f informers.SharedInformerFactory, ns string) coreinformers.ConfigMapInformer {
	f.InformerFor(&corev1.ConfigMap{}, func(client kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return coreinformers.NewFilteredConfigMapInformer(client, ns, resync, cache.Indexers{}, func(o *metav1.ListOptions) { o.LabelSelector = runSelector })
	})
	return f.Core().V1().ConfigMaps()
}

// runLister reads the run cache, which holds one namespace and, from
// RunInformer, no namespace index: a namespace lister's List would
// fall back to a scan, with a warning each time.
type runLister struct {
	all corelisters.ConfigMapLister
	ns  string
}

func (l runLister) List(selector labels.Selector) ([]*corev1.ConfigMap, error) {
	return l.all.List(selector)
}

func (l runLister) Get(name string) (*corev1.ConfigMap, error) {
	return l.all.ConfigMaps(l.ns).Get(name)
}

// DefaultOptions are the values New gives the fields of Options left zero,
// and the defaults of flows-reconciler's flags: one place for both.
func DefaultOptions() Options {
	return Options{
		Workers:               8,
		WriteConcurrency:      64,
		StatusBatchPeriod:     time.Second,
		StatusWriteQPS:        10,
		StatusWriteBurst:      20,
		StatusWriteMaxLatency: 50 * time.Millisecond,
		StartupGrace:          time.Second,
		RetentionInterval:     30 * time.Second,
		NotificationRetryFor:  time.Hour,
	}
}

// withDefaults fills the tunables left zero from DefaultOptions (the
// counts also when negative), and turns a negative batch period into none.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Workers <= 0 {
		o.Workers = d.Workers
	}
	if o.WriteConcurrency <= 0 {
		o.WriteConcurrency = d.WriteConcurrency
	}
	if o.StatusWriteBurst <= 0 {
		o.StatusWriteBurst = d.StatusWriteBurst
	}
	o.StatusBatchPeriod = max(cmp.Or(o.StatusBatchPeriod, d.StatusBatchPeriod), 0)
	o.StatusWriteQPS = cmp.Or(o.StatusWriteQPS, d.StatusWriteQPS)
	o.StatusWriteMaxLatency = cmp.Or(o.StatusWriteMaxLatency, d.StatusWriteMaxLatency)
	o.StartupGrace = cmp.Or(o.StartupGrace, d.StartupGrace)
	o.RetentionInterval = cmp.Or(o.RetentionInterval, d.RetentionInterval)
	o.NotificationRetryFor = cmp.Or(o.NotificationRetryFor, d.NotificationRetryFor)
	return o
}

// New builds a Controller on the informers given, which it registers its
// indexes and handlers with: start their factories after New, wait for
// HasSynced, then Run.
func New(client kubernetes.Interface, inf Informers, opts Options) *Controller {
	opts = opts.withDefaults().withOwnParts()
	c := &Controller{
		client:    client,
		opts:      opts,
		log:       opts.Logger,
		exp:       newExpectations(),
		state:     opts.State,
		cfgCache:  configCache{root: opts.ConfigDigest},
		metrics:   opts.Metrics,
		firstSeen: map[string]time.Time{},
		writes:    make(chan pending, 1024),
		progress:  flowcontrol.NewFakeAlwaysRateLimiter(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "flows"}),
	}

	if opts.StatusWriteQPS > 0 {
		c.progress = flowcontrol.NewTokenBucketRateLimiter(opts.StatusWriteQPS, opts.StatusWriteBurst)
	}
	c.notify = newNotifier(c, opts.NotificationClient, opts.NotificationRetryFor)
	c.index(inf)
	c.handle(inf)

	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events(opts.Namespace)})
	c.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "flows-reconciler"})
	return c
}

// withOwnParts makes the parts a caller did not give: the default
// logger, the clock, metrics on no registry, and a state key of its own.
func (o Options) withOwnParts() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.State == nil {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		o.State = NewStateForTest(key)
	}
	return o
}

// index takes the listers of the informers and adds the indexes a pass
// and a sync read through. A dispatch pass reads only what it needs,
// through indexes kept up as the caches change: waiting runs, by their
// state label, and unfinished Jobs, by each slot they hold. Finished runs
// and their Jobs, kept for days by retention, cost a pass nothing, and
// running ones cost it a count per limit; a run's sync finds its pods by
// their Job's name rather than scanning every pod.
func (c *Controller) index(inf Informers) {
	cfgInf, runInf, cancelInf, jobInf, podInf := inf.Configs, inf.Runs, inf.CancelRequests, inf.Jobs, inf.Pods
	ns := c.opts.Namespace
	c.configs, c.runs = cfgInf.Lister().ConfigMaps(ns), runLister{all: runInf.Lister(), ns: ns}
	c.jobs = jobInf.Lister().Jobs(ns)
	_ = runInf.Informer().AddIndexers(cache.Indexers{runsByStateIndex: func(obj any) ([]string, error) {
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			return []string{string(c.state.stateOf(cm))}, nil
		}
		return nil, nil
	}})
	_ = jobInf.Informer().AddIndexers(jobSlotIndexers())
	_ = cancelInf.Informer().AddIndexers(cancelIndexers())
	c.cancels, c.cancelLister = cancelInf.Informer().GetIndexer(), cancelInf.Lister().ConfigMaps(ns)
	_ = podInf.Informer().AddIndexers(cache.Indexers{podsByJobIndex: func(obj any) ([]string, error) {
		if pod, ok := obj.(*corev1.Pod); ok {
			if ref := metav1.GetControllerOfNoCopy(pod); ref != nil && ref.Kind == "Job" {
				return []string{string(ref.UID)}, nil
			}
		}
		return nil, nil
	}})
	c.runIndex, c.jobIndex, c.pods = runInf.Informer().GetIndexer(), jobInf.Informer().GetIndexer(), podInf.Informer().GetIndexer()
	c.synced = []cache.InformerSynced{cfgInf.Informer().HasSynced, runInf.Informer().HasSynced, jobInf.Informer().HasSynced, podInf.Informer().HasSynced, cancelInf.Informer().HasSynced}
}

// handle registers what each change calls for: a config change, a pass;
// a run's, its sync and its notifications; a Job's or a pod's, its run's
// sync; a cancel request, its run's.
func (c *Controller) handle(inf Informers) {
	_, _ = inf.CancelRequests.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: c.cancelRequestAdded})
	_, _ = inf.Configs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.requestPass() },
		UpdateFunc: func(any, any) { c.requestPass() },
		DeleteFunc: func(any) { c.requestPass() },
	})
	_, _ = inf.Runs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.runChanged(obj, true) },
		UpdateFunc: func(_, obj any) { c.runChanged(obj, false) },
		DeleteFunc: c.runDeleted,
	})
	_, _ = inf.Runs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.notify.runChanged,
		UpdateFunc: func(_, obj any) { c.notify.runChanged(obj) },
	})
	_, _ = inf.Jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.jobChanged(obj, false) },
		UpdateFunc: func(_, obj any) { c.jobChanged(obj, false) },
		DeleteFunc: func(obj any) { c.jobChanged(obj, true) },
	})
	_, _ = inf.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podChanged,
		UpdateFunc: func(_, obj any) { c.podChanged(obj) },
	})
}

// Index names.
const (
	runsByStateIndex = "state"
	podsByJobIndex   = "job"
)

// jobSlotIndexers index unfinished run Jobs by each slot they hold, and
// every run Job by its tags (tagStartsIndex).
func jobSlotIndexers() cache.Indexers {
	return cache.Indexers{
		project.SlotPool:       slotIndex(func(s planner.Slots) []string { return []string{s.Pool} }),
		project.SlotQueue:      slotIndex(func(s planner.Slots) []string { return []string{s.Queue} }),
		project.SlotDeployment: slotIndex(func(s planner.Slots) []string { return []string{s.Deployment} }),
		project.SlotTag:        slotIndex(func(s planner.Slots) []string { return s.Tags }),
		tagStartsIndex:         tagStartsIndexFunc,
	}
}

// slotIndex indexes an unfinished run's Job by the slots of one kind it
// holds; a finished Job holds none.
func slotIndex(keys func(planner.Slots) []string) cache.IndexFunc {
	return func(obj any) ([]string, error) {
		job, ok := obj.(*batchv1.Job)
		if !ok || jobFinished(job) != "" || runOfJob(job) == "" {
			return nil, nil
		}
		return keys(slotsOfJob(job)), nil
	}
}

// held counts the unfinished Jobs holding a slot of a limit.
func (c *Controller) held(kind, name string) int32 {
	return int32(indexCount(c.jobIndex, kind, name))
}

// indexCount counts the objects of an index value. ByIndex rather than
// IndexKeys: IndexKeys sorts its keys, work a count does not need, done on
// every pass for every limit.
func indexCount(idx cache.Indexer, name, value string) int {
	objs, _ := idx.ByIndex(name, value)
	return len(objs)
}

// byIndex returns the objects of an index value, typed.
func byIndex[T any](idx cache.Indexer, name, value string) []T {
	objs, _ := idx.ByIndex(name, value)
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// jobNamed returns the cached Job of a name, whoever owns it. It asks the
// Job cache's store, not its lister: a pass asks for every waiting run,
// and the lister's NotFound error, built with its message for each run
// without a Job, was a twentieth of a pass.
func (c *Controller) jobNamed(name string) *batchv1.Job {
	obj, ok, _ := c.jobIndex.GetByKey(c.opts.Namespace + "/" + name)
	if !ok {
		return nil
	}
	job, _ := obj.(*batchv1.Job)
	return job
}

// jobOf returns the Job of a run's attempt: the Job of the name derived
// from both, if the run controls it (by UID). foreign is a Job of that
// name that is not the run's: a run created again under an old run's
// name, before the old Job is collected, or a name chosen to collide with
// another run's Job.
func (c *Controller) jobOf(cm *corev1.ConfigMap, attempt int32) (job, foreign *batchv1.Job) {
	j := c.jobNamed(v1alpha1.AttemptJobName(cm.Name, attempt))
	if j == nil {
		return nil, nil
	}
	if v1alpha1.ControlledBy(j, cm.UID) {
		return j, nil
	}
	return nil, j
}

// podsOf returns the pods a Job controls, from the cache.
func (c *Controller) podsOf(job *batchv1.Job) []*corev1.Pod {
	return byIndex[*corev1.Pod](c.pods, podsByJobIndex, string(job.UID))
}

// stripManagedFields keeps the cache small: with 10,000 runs pending, the
// managed fields would be most of it.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// trimWork keeps of a run's Job or pod what the reconciler reads: its
// metadata and status. The spec is most of either (a pod's containers
// carry the entrypoint runner and every environment variable, its Job's
// template the same again), and a burst of a thousand runs keeps a
// thousand of each, which the collector marks on every cycle. Dropping a
// spec twice is dropping it once, as a transform must allow.
func trimWork(obj any) (any, error) {
	switch o := obj.(type) {
	case *batchv1.Job:
		o.Spec = batchv1.JobSpec{}
	case *corev1.Pod:
		o.Spec = corev1.PodSpec{}
	}
	return stripManagedFields(obj)
}

// trimRun keeps in the cache only what the reconciler reads of a run:
// whoever may create a ConfigMap may make one of a megabyte, and two
// hundred of those would otherwise fill the reconciler's memory. Its
// signature is checked here, once per version, and kept as a verdict
// (State.keepVerdict).
func (s *State) trimRun(obj any) (any, error) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return stripManagedFields(obj)
	}
	cm.ManagedFields = nil
	if err := v1alpha1.CheckRunObject(cm); err != nil {
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[v1alpha1.AnnotationRefused] = err.Error()
		for k := range cm.Data {
			if k != v1alpha1.KeyStatus {
				delete(cm.Data, k)
			}
		}
		cm.BinaryData = nil
		if cm.Immutable != nil && *cm.Immutable {
			delete(cm.Data, v1alpha1.KeyStatus) // see writeStatus
		}
	}
	if len(cm.Data[v1alpha1.KeyStatus]) > maxStatusBytes {
		delete(cm.Data, v1alpha1.KeyStatus) // never the reconciler's: forged
	}
	keepRunMeta(cm)
	s.keepVerdict(cm)
	return cm, nil
}

// keepRunMeta keeps of a run's labels, annotations and data only what the
// reconciler reads (its state and deployment labels, its signature, a
// cancel and a refusal, the request and the status), in maps shared among
// runs whose kept entries are equal: a run carries up to six labels of
// the reconciler's, and whatever a submitter or kubectl apply (its
// last-applied-configuration, the whole object again) adds; with ten
// thousand runs waiting, each string and map kept is paid ten thousand
// times. Runs scheduled in the same second have equal statuses.
//
// The request is the one value that differs from run to run when each
// has parameters of its own, and a data map of its own would cost a run
// more than 300 bytes for it. So the request is kept in the copy's
// selfLink, a field the API server clears before it stores an object and
// this copy is never written back from (every write is a patch built
// afresh), and the data map holds the status alone, shared;
// planner.RequestData reads it back. Like every transform, this one may
// be given what it already trimmed (client-go's watch-list trims each
// object as it streams in, then again as the list replaces the cache's),
// and must leave it as it is: a copy without run.yaml keeps its selfLink.
func keepRunMeta(cm *corev1.ConfigMap) {
	cm.Namespace = unique.Make(cm.Namespace).Value()
	cm.GenerateName = ""
	var lk keptLabels
	lk.state, lk.hasState = cm.Labels[v1alpha1.LabelState]
	lk.deployment, lk.hasDeployment = cm.Labels[v1alpha1.LabelDeployment]
	if lk.hasState || lk.hasDeployment {
		labels := cm.Labels
		cm.Labels = runLabels.Get(lk, func() map[string]string {
			return keepOnly(labels, true, v1alpha1.LabelState, v1alpha1.LabelDeployment)
		})
	} else {
		cm.Labels = nil
	}
	cm.Annotations = keepOnly(cm.Annotations, false, v1alpha1.AnnotationSignature, v1alpha1.AnnotationCancel, v1alpha1.AnnotationRefused)
	if run, ok := cm.Data[v1alpha1.KeyRun]; ok {
		cm.SetSelfLink(shared(&runRequests, run))
	}
	status, hasStatus := cm.Data[v1alpha1.KeyStatus]
	switch {
	case !hasStatus:
		cm.Data = nil
	case len(status) <= sharing.MaxBytes:
		cm.Data = runData.Get(status, func() map[string]string {
			return map[string]string{v1alpha1.KeyStatus: status}
		})
	default:
		cm.Data = map[string]string{v1alpha1.KeyStatus: status}
	}
}

// shared is s, or an equal string handed out before from t: runs
// submitted alike keep one request between them.
func shared(t *sharing.Table[string, string], s string) string {
	if s == "" || len(s) > sharing.MaxBytes {
		return s
	}
	return t.Get(s, func() string { return s })
}

// keepOnly is a map of the entries of m under keys, its keys the constants
// given rather than decoded copies, and its values shared strings if
// shared; nil when none is there.
func keepOnly(m map[string]string, shared bool, keys ...string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(keys))
		}
		if shared {
			v = unique.Make(v).Value()
		}
		out[k] = v
	}
	return out
}

// runLabels shares the label maps of cached runs whose kept labels are
// equal, runData their data maps (the status alone) and runRequests their
// requests. Cached objects are read only (every write is a patch built
// afresh), so sharing is safe.
var (
	runLabels   sharing.Table[keptLabels, map[string]string]
	runData     sharing.Table[string, map[string]string]
	runRequests sharing.Table[string, string]
)

// keptLabels is what keepRunMeta keeps of a run's labels: a label absent
// differs from one set to "".
type keptLabels struct {
	state, deployment       string
	hasState, hasDeployment bool
}

// maxStatusBytes is more than any status the reconciler writes (its
// parameters and job variables are bounded by the run request's limits).
const maxStatusBytes = 256 << 10

// trimCancelRequest keeps only a cancel request's own key.
func trimCancelRequest(obj any) (any, error) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return stripManagedFields(obj)
	}
	cm.ManagedFields, cm.BinaryData = nil, nil
	for k, v := range cm.Data {
		if k != v1alpha1.KeyCancel || len(v) > 4096 {
			delete(cm.Data, k)
		}
	}
	return cm, nil
}

// HasSynced reports whether every cache has its first list.
func (c *Controller) HasSynced() bool {
	for _, s := range c.synced {
		if !s() {
			return false
		}
	}
	return true
}

// Run reconciles until ctx is done. Only the leader calls it.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("caches did not sync")
	}
	if err := c.catchUp(ctx); err != nil {
		return err
	}
	c.log.Info("reconciling", "namespace", c.opts.Namespace, "workers", c.opts.Workers)
	c.metrics.Leader.Set(1)
	defer c.metrics.Leader.Set(0)
	// A new leader looks at everything once: runs left mid-flight by the
	// last one are picked up here.
	c.queue.Add(dispatchKey)
	runs, _ := c.runs.List(labels.Everything())
	for _, r := range runs {
		c.queue.Add(r.Name)
	}
	var wg sync.WaitGroup
	for i := 0; i < c.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNext(ctx) {
			}
		}()
	}
	for i := 0; i < c.opts.WriteConcurrency; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); c.writer(ctx) }()
	}
	wg.Add(3)
	go func() { defer wg.Done(); c.runSchedules(ctx) }()
	go func() { defer wg.Done(); c.notify.run(ctx) }()
	go func() {
		defer wg.Done()
		wait.UntilWithContext(ctx, func(ctx context.Context) {
			c.prune(ctx)
			c.pruneCancelRequests(ctx)
		}, c.opts.RetentionInterval)
	}()
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	var err error
	if key == dispatchKey {
		err = c.dispatch(ctx)
	} else if job, ok := isJobKey(key); ok {
		err = c.syncJob(ctx, job)
	} else {
		err = c.syncRun(ctx, key)
	}
	if err != nil {
		c.metrics.ReconcileErrors.Inc()
		if !apierrors.IsConflict(err) {
			c.log.Error("reconcile failed", "key", key, "err", err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// runChanged routes a run event: runs waiting for a slot go to the
// dispatch pass, runs holding one to their own sync.
func (c *Controller) runChanged(obj any, added bool) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	if added {
		c.firstSeenMu.Lock()
		if _, ok := c.firstSeen[cm.Name]; !ok {
			c.firstSeen[cm.Name] = c.opts.Now()
		}
		c.firstSeenMu.Unlock()
	}
	state := c.state.stateOf(cm)
	c.exp.observe(cm.Name, state)
	c.exp.observeVersion(cm.Name, cm.ResourceVersion)
	switch {
	case state == "" || state == v1alpha1.StateScheduled:
		c.requestPass()
		if c.cancelRequested(cm) {
			c.queue.Add(cm.Name)
		}
		if state == v1alpha1.StateScheduled && !added {
			c.releaseJob(cm, state) // an attempt that ended: its Job may go
		}
	case state.Final():
		if state == v1alpha1.StateCancelled && !added {
			c.queueChildren(cm)
		}
		c.releaseJob(cm, state)
		// Its parsed request served the dispatch pass, which it has left
		// for good. No pass: slots are freed by Jobs finishing or going,
		// and their events bring one.
		c.parsed.Forget(cm.UID)
	default:
		if state == v1alpha1.StateCancelling && !added {
			c.queueChildren(cm)
		}
		c.queue.Add(cm.Name)
	}
}

func (c *Controller) runDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	c.exp.forget(cm.Name)
	c.parsed.Forget(cm.UID)
	c.firstSeenMu.Lock()
	delete(c.firstSeen, cm.Name)
	c.firstSeenMu.Unlock()
	c.slotFreed() // its slot, if it held one (a claim), is free
}

// slotFreed calls a dispatch pass if a run waits for a slot.
func (c *Controller) slotFreed() {
	if c.slotWaiters.Load() {
		c.requestPass()
	}
}

// requestPass calls a dispatch pass, spaced by nextPass.
func (c *Controller) requestPass() {
	if wait := time.Until(time.Unix(0, c.nextPass.Load())); wait > 0 {
		c.queue.AddAfter(dispatchKey, wait)
		return
	}
	c.queue.Add(dispatchKey)
}

// passStarted spaces the passes called while one decides: they wait for
// its estimated end and the spacing after it.
func (c *Controller) passStarted() time.Time {
	start := time.Now()
	c.nextPass.Store(start.Add((1 + passSpacing) * time.Duration(c.lastPass.Load())).UnixNano())
	return start
}

// passDecided spaces the next pass by the time this one took to decide,
// and returns that time. Handing its writes to the writers is not
// counted: that waits on the API server, not on this process's CPU, and a
// pass that decided ten thousand writes would otherwise hold the next one
// back for minutes.
func (c *Controller) passDecided(start time.Time) time.Duration {
	end := time.Now()
	took := end.Sub(start)
	c.lastPass.Store(int64(took))
	c.nextPass.Store(end.Add(passSpacing * took).UnixNano())
	return took
}

// passSpacing is how many times its own duration an event-called pass
// waits after the last.
const passSpacing = 3

func (c *Controller) jobChanged(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	run := runOfJob(job)
	if run == "" {
		return
	}
	if !deleted {
		c.exp.observeJob(run, job.Name)
	}
	if job.DeletionTimestamp != nil && hasFinalizer(job) {
		c.queue.Add(jobKeyPrefix + job.Name)
	}
	switch {
	case deleted:
		c.queue.Add(run)
		// Always a pass: a run whose Job went before its status was
		// written is the pass's again.
		c.requestPass()
		return
	case jobFinished(job) != "":
		c.queue.Add(run)
		c.slotFreed()
		return
	}
	c.queue.AddAfter(run, c.opts.StatusBatchPeriod)
}

func (c *Controller) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	// A pod's controller is its Job; the Job's is its run. (An index of
	// runs by Job name would cost more memory than ten thousand runs.)
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "Job" {
		return
	}
	if job, err := c.jobs.Get(ref.Name); err == nil && job.UID == ref.UID {
		if run := runOfJob(job); run != "" {
			c.queue.AddAfter(run, c.opts.StatusBatchPeriod)
		}
	}
}

// takeFirstSeen returns and forgets when the run was first seen.
func (c *Controller) takeFirstSeen(name string) (time.Time, bool) {
	c.firstSeenMu.Lock()
	defer c.firstSeenMu.Unlock()
	t, ok := c.firstSeen[name]
	delete(c.firstSeen, name)
	return t, ok
}
