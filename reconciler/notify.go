package reconciler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// The notifier sends the notifications of runs' events (firedEvents) to
// the targets of their deployment, on the leader only, off the dispatch
// path: it has its own queues and workers, and a slow or dead webhook
// holds up nothing but its own deliveries.
//
// What it owes is read from the run's status, never kept only in memory:
// a final state is written with a record of each notification it fires
// (recordOwed), and each delivery is recorded there when the target
// answers 2xx (markNotification). The status is the reconciler's alone,
// signed (trust.go), so a submitter cannot mark a notification delivered
// before it fires. A new leader looks at every run and sends what is
// owed: a leader killed after a delivery and before its record repeats
// it, under the same idempotency key; none is lost.
type notifier struct {
	c        *Controller
	client   *http.Client
	retryFor time.Duration

	// active is set while this replica leads.
	active atomic.Bool
	// cfg is the config of the last dispatch pass.
	cfg atomic.Pointer[notifyConfig]

	// looks are runs to judge (owedNotifications), now or when their next
	// event is due; sends are deliveries, retried with back-off.
	looks workqueue.TypedDelayingInterface[string]
	sends workqueue.TypedRateLimitingInterface[delivery]

	mu sync.Mutex
	// firstTry is when each delivery in the queue was first tried; done
	// holds deliveries whose outcome is known but not yet recorded in the
	// run's status (a write that failed is retried).
	firstTry map[delivery]time.Time
	done     map[delivery]deliveryOutcome
}

// delivery is one notification to send: a run (by name and UID), a
// target and an event.
type delivery struct {
	run types.NamespacedName
	uid types.UID
	owedEvent
}

type deliveryOutcome struct {
	at     time.Time
	errMsg string // "" when delivered
}

// notifyConfig is the config the notifier serves and whether any
// deployment has a target (when none has, it costs nothing).
type notifyConfig struct {
	gen     uint64
	cfg     *project.Installed
	enabled bool
}

// errCacheBehind retries a delivery until the cache shows our last write.
var errCacheBehind = errors.New("the run cache is behind the reconciler's own write")

// notifyWorkers send at once; a webhook that hangs holds one for at most
// notifyTimeout.
const (
	notifyWorkers = 4
	notifyTimeout = 10 * time.Second
)

func newNotifier(c *Controller, client *http.Client, retryFor time.Duration) *notifier {
	if client == nil {
		client = &http.Client{Timeout: notifyTimeout}
	}
	return &notifier{
		c: c, client: client, retryFor: retryFor,
		firstTry: map[delivery]time.Time{},
		done:     map[delivery]deliveryOutcome{},
	}
}

// configSeen takes the config a dispatch pass built. When it changes and
// some deployment has targets, every run is looked at again.
func (n *notifier) configSeen(cfg *project.Installed, gen uint64) {
	if old := n.cfg.Load(); old != nil && old.gen == gen {
		return
	}
	nc := &notifyConfig{gen: gen, cfg: cfg}
	for _, d := range cfg.Deployments {
		if len(d.Notifications) > 0 {
			nc.enabled = true
			break
		}
	}
	n.cfg.Store(nc)
	if nc.enabled {
		n.lookAll()
	}
}

// enabled reports whether this replica leads and some deployment has a
// target.
func (n *notifier) enabled() (*project.Installed, bool) {
	nc := n.cfg.Load()
	if !n.active.Load() || nc == nil || !nc.enabled {
		return nil, false
	}
	return nc.cfg, true
}

// recordFinal adds to a final status about to be written the records of
// the notifications it owes (recordOwed), so they are written with it.
func (n *notifier) recordFinal(cm *corev1.ConfigMap, st *v1alpha1.RunStatus) {
	if !st.State.Final() {
		return
	}
	cfg, ok := n.enabled()
	if !ok {
		return
	}
	if _, d := n.targetsOf(cfg, cm); d != nil && len(d.Notifications) > 0 {
		recordOwed(st, d.Notifications, d.SLA, n.c.opts.Now())
	}
}

// carryOver keeps the notification records of a run's stored status in a
// status a dispatch pass writes afresh (Scheduled, Rejected, Cancelled).
func (n *notifier) carryOver(cm *corev1.ConfigMap, st *v1alpha1.RunStatus) {
	if _, ok := n.enabled(); !ok || len(st.Notifications) > 0 || n.c.state.stateOf(cm) == "" {
		return
	}
	st.Notifications = planner.StatusOf(cm).Notifications
}

// runChanged is the run informer's handler: a run changed, so it may owe a
// notification (its final state was written) or have one recorded.
func (n *notifier) runChanged(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	if _, ok := n.enabled(); ok {
		n.looks.Add(cm.Name)
	}
}

func (n *notifier) lookAll() {
	if _, ok := n.enabled(); !ok {
		return
	}
	runs, _ := n.c.runs.List(labels.Everything())
	for _, r := range runs {
		n.looks.Add(r.Name)
	}
}

// run serves the queues until ctx ends; only the leader calls it.
func (n *notifier) run(ctx context.Context) {
	n.start()
	defer n.active.Store(false)
	n.lookAll()
	var wg sync.WaitGroup
	wg.Add(1 + notifyWorkers)
	go func() {
		defer wg.Done()
		for n.processLook(ctx) {
		}
	}()
	for range notifyWorkers {
		go func() {
			defer wg.Done()
			for n.processSend(ctx) {
			}
		}()
	}
	<-ctx.Done()
	n.looks.ShutDown()
	n.sends.ShutDown()
	wg.Wait()
}

// start makes the queues, and their goroutines, which exist while this
// replica leads, and starts taking runs.
func (n *notifier) start() {
	n.looks = workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{Name: "flows-notify-looks"})
	n.sends = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[delivery](notifyBackoffBase, notifyBackoffMax),
		workqueue.TypedRateLimitingQueueConfig[delivery]{Name: "flows-notify-sends"})
	n.active.Store(true)
}

// targetsOf are a run's deployment, its notification targets and SLA.
func (n *notifier) targetsOf(cfg *project.Installed, cm *corev1.ConfigMap) (string, *project.InstalledDeployment) {
	dep := n.c.deploymentOf(cm)
	return dep, cfg.Deployments[dep]
}

func (n *notifier) processLook(ctx context.Context) bool {
	name, quit := n.looks.Get()
	if quit {
		return false
	}
	defer n.looks.Done(name)
	cfg, ok := n.enabled()
	if !ok {
		return true
	}
	cm, err := n.c.runs.Get(name)
	if err != nil || n.c.state.stateOf(cm) == "" || n.c.exp.stale(name, cm.ResourceVersion) {
		return true // gone, not (yet) the reconciler's, or our own write is on its way
	}
	_, d := n.targetsOf(cfg, cm)
	final := n.c.state.stateOf(cm).Final()
	if final {
		// A run that has ended keeps no parsed request (runChanged
		// forgets it); the look took one.
		defer n.c.parsed.Forget(cm.UID)
	}
	if d == nil || len(d.Notifications) == 0 {
		return true
	}
	st := n.c.statusForNotify(cm)
	now := n.c.opts.Now()
	owed, next := owedNotifications(st, d.Notifications, d.SLA, now)
	for _, o := range owed {
		n.sends.Add(delivery{run: types.NamespacedName{Namespace: cm.Namespace, Name: cm.Name}, uid: cm.UID, owedEvent: o})
	}
	if !next.IsZero() {
		n.looks.AddAfter(name, next.Sub(now))
	}
	return true
}

// statusForNotify is a run's status as the notifier judges it (a trusted
// run's). A run in flight may have moved on further than its status says
// (progress writes are batched and budgeted): what its Job and pods show
// of when it took its slots and started fills in, so a run whose Pending
// or Running write is put off is not taken for late. It decodes the
// status afresh: the run cache's decoded status belongs to the run's sync.
func (c *Controller) statusForNotify(cm *corev1.ConfigMap) *v1alpha1.RunStatus {
	st := planner.StatusOf(cm)
	if c.state.stateOf(cm).Final() {
		return st
	}
	return c.admissionSeen(cm, st)
}

// admissionSeen fills in a status being judged from the run's Job.
func (c *Controller) admissionSeen(cm *corev1.ConfigMap, st *v1alpha1.RunStatus) *v1alpha1.RunStatus {
	job, _ := c.jobOf(cm, st.CurrentAttempt())
	if job == nil {
		return st
	}
	if st.PendingTime == nil {
		t := metav1.NewTime(admittedAt(job))
		st.PendingTime = &t
	}
	if st.StartTime == nil {
		if p := runningPod(c.podsOf(job)); p != nil && p.Status.StartTime != nil {
			st.StartTime = p.Status.StartTime
		}
	}
	return st
}

func (n *notifier) processSend(ctx context.Context) bool {
	d, quit := n.sends.Get()
	if quit {
		return false
	}
	defer n.sends.Done(d)
	retry, err := n.send(ctx, d)
	if err == nil || !retry {
		n.sends.Forget(d)
		return true
	}
	n.sends.AddRateLimited(d)
	return true
}

// send delivers one notification, or records its outcome if it is known.
// retry says to try again later.
func (n *notifier) send(ctx context.Context, d delivery) (retry bool, err error) {
	cfg, ok := n.enabled()
	if !ok {
		return false, nil
	}
	cm, err := n.c.runs.Get(d.run.Name)
	if err != nil || cm.UID != d.uid || n.c.state.stateOf(cm) == "" {
		n.forget(d)
		return false, nil // the run is gone (or no longer the reconciler's): nowhere to record
	}
	if n.c.exp.stale(cm.Name, cm.ResourceVersion) {
		return true, errCacheBehind // our own write, perhaps this record, is on its way
	}
	if r := findRecord(planner.StatusOf(cm), d.owedEvent); r != nil && r.Done() {
		n.forget(d)
		return false, nil
	}
	n.mu.Lock()
	_, known := n.done[d]
	first, tried := n.firstTry[d]
	if !tried {
		first = n.c.opts.Now()
		n.firstTry[d] = first
	}
	n.mu.Unlock()
	if !known {
		out, err := n.deliver(ctx, cfg, cm, d)
		if err != nil {
			n.c.metrics.Notifications.WithLabelValues(d.target, "failed").Inc()
			if n.c.opts.Now().Sub(first) < n.retryFor {
				n.c.log.Info("notification not delivered; retrying", "run", cm.Name, "target", d.target, "event", d.event, "err", err)
				return true, err
			}
			n.c.log.Error("notification not delivered; giving up", "run", cm.Name, "target", d.target, "event", d.event, "after", n.retryFor, "err", err)
			n.c.metrics.Notifications.WithLabelValues(d.target, "gave_up").Inc()
			out = deliveryOutcome{at: n.c.opts.Now(), errMsg: err.Error()}
		} else {
			n.c.metrics.Notifications.WithLabelValues(d.target, "delivered").Inc()
		}
		n.mu.Lock()
		n.done[d] = out
		n.mu.Unlock()
	}
	if err := n.record(ctx, cm, d); err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			n.c.log.Error("recording a notification's outcome", "run", cm.Name, "err", err)
		}
		return true, err
	}
	return false, nil
}

func (n *notifier) forget(d delivery) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.firstTry, d)
	delete(n.done, d)
}

// deliver POSTs one notification to its target.
func (n *notifier) deliver(ctx context.Context, cfg *project.Installed, cm *corev1.ConfigMap, d delivery) (deliveryOutcome, error) {
	dep, dc := n.targetsOf(cfg, cm)
	if dc == nil {
		return deliveryOutcome{}, fmt.Errorf("deployment %q is no longer configured", dep)
	}
	var target *v1alpha1.Notification
	for i := range dc.Notifications {
		if dc.Notifications[i].Name == d.target {
			target = &dc.Notifications[i]
		}
	}
	if target == nil {
		return deliveryOutcome{}, fmt.Errorf("target %q is no longer configured for deployment %s", d.target, dep)
	}
	url, key, err := n.c.notificationSecret(ctx, target.Secret)
	if err != nil {
		return deliveryOutcome{}, err
	}
	st := n.c.statusForNotify(cm)
	body, err := notificationBody(newNotification(cm.Namespace, cm.Name, cm.UID, dep, st, target, d.event, dc.SLA), target.Format)
	if err != nil {
		return deliveryOutcome{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return deliveryOutcome{}, fmt.Errorf("target %s: the url in Secret %s: %v", target.Name, target.Secret, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(v1alpha1.HeaderIdempotencyKey, v1alpha1.NotificationKey(cm.UID, d.event))
	req.Header.Set(v1alpha1.HeaderEvent, d.event)
	req.Header.Set(v1alpha1.HeaderSignature, v1alpha1.SignNotification(key, body))
	resp, err := n.client.Do(req)
	if err != nil {
		return deliveryOutcome{}, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return deliveryOutcome{}, fmt.Errorf("target %s answered %s", target.Name, resp.Status)
	}
	return deliveryOutcome{at: n.c.opts.Now()}, nil
}

// notificationSecret reads a target's webhook URL and signing key from its
// Secret, by name: the reconciler's Role allows that and nothing more.
func (c *Controller) notificationSecret(ctx context.Context, name string) (string, []byte, error) {
	s, err := c.client.CoreV1().Secrets(c.opts.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("reading notification Secret %s: %w", name, err)
	}
	url, key := string(s.Data[v1alpha1.NotificationSecretURLKey]), s.Data[v1alpha1.NotificationSecretSigningKey]
	if url == "" || len(key) == 0 {
		return "", nil, fmt.Errorf("notification Secret %s needs the keys %s and %s", name, v1alpha1.NotificationSecretURLKey, v1alpha1.NotificationSecretSigningKey)
	}
	return url, key, nil
}

// record writes the known outcomes of a run's notifications into its
// status, all in one write.
func (n *notifier) record(ctx context.Context, cm *corev1.ConfigMap, d delivery) error {
	n.mu.Lock()
	outs := map[delivery]deliveryOutcome{}
	for k, o := range n.done {
		if k.uid == d.uid {
			outs[k] = o
		}
	}
	n.mu.Unlock()
	if len(outs) == 0 {
		return nil
	}
	st := planner.StatusOf(cm) // afresh, as statusForNotify
	for k, o := range outs {
		markNotification(st, k.owedEvent, o.at, o.errMsg)
	}
	if _, err := n.c.writeStatus(ctx, cm, st); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	n.mu.Lock()
	for k := range outs {
		delete(n.done, k)
		delete(n.firstTry, k)
	}
	n.mu.Unlock()
	return nil
}
