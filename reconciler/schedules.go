package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// scheduleCheck bounds how long the schedule loop sleeps, so config
// changes (a new or edited schedule) are picked up without a watch of
// their own.
const scheduleCheck = 30 * time.Second

// runSchedules fires schedules while this replica leads. A run's name is
// derived from its deployment, schedule and tick, so a restart or a
// failover never fires a tick twice: the second create finds the first.
func (c *Controller) runSchedules(ctx context.Context) {
	armed := map[string]time.Time{} // schedule id -> when this leader first saw it
	for {
		next := c.fireSchedules(ctx, armed)
		sleep := scheduleCheck
		if !next.IsZero() {
			if d := next.Sub(c.opts.Now()); d < sleep {
				sleep = d
			}
		}
		if sleep < 0 {
			sleep = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(sleep):
		}
	}
}

// fireSchedules creates the runs of each active schedule's due ticks
// (project.DueTicks: the catch-up policy decides which ticks missed
// while no reconciler ran are fired) and returns the earliest next tick.
func (c *Controller) fireSchedules(ctx context.Context, armed map[string]time.Time) time.Time {
	now := c.opts.Now()
	cms, err := c.configs.List(labels.Everything())
	if err != nil {
		return time.Time{}
	}
	cfg := c.cfgCache.build(cms)
	names := make([]string, 0, len(cfg.Deployments))
	live := map[string]bool{}
	for n, d := range cfg.Deployments {
		names = append(names, n)
		for i := range d.Schedules {
			live[ScheduleID(&d.Deployment, i)] = true
		}
	}
	sort.Strings(names)
	var earliest time.Time
	var off []string
	for _, n := range names {
		d := cfg.Deployments[n]
		paused := project.PauseOf(nil, "", d).Paused()
		for i, s := range d.Schedules {
			id := ScheduleID(&d.Deployment, i)
			if paused || !s.IsActive() {
				// Its ticks pass unfired and are never caught up: once on
				// again it counts from then, as a new schedule.
				delete(armed, id)
				off = append(off, id)
				continue
			}
			if _, ok := armed[id]; !ok {
				armed[id] = now
			}
			next := c.fireSchedule(ctx, &d.Deployment, i, id, armed[id], now, live)
			if !next.IsZero() && (earliest.IsZero() || next.Before(earliest)) {
				earliest = next
			}
		}
	}
	if err := c.state.switchedOff(ctx, off, now, live); err != nil {
		c.log.Error("recording schedules off", "schedules", len(off), "err", err)
	}
	for id := range armed {
		if !live[id] {
			delete(armed, id)
		}
	}
	return earliest
}

// fireSchedule creates the runs of one schedule's due ticks, oldest first,
// and returns its next tick.
func (c *Controller) fireSchedule(ctx context.Context, d *v1alpha1.Deployment, i int, id string, armed, now time.Time, live map[string]bool) time.Time {
	fire, next, err := project.DueTicks(d.Schedules[i], c.state.lastFired(id), armed, now)
	if err != nil {
		c.log.Error("schedule cannot be evaluated", "deployment", d.FullName(), "schedule", i, "err", err)
		return time.Time{}
	}
	if len(fire) > 1 {
		c.log.Info("schedule catching up", "deployment", d.FullName(), "schedule", i, "ticks", len(fire), "from", fire[0], "to", fire[len(fire)-1])
	}
	for _, tick := range fire {
		// The run is made before its tick is recorded, as the CronJob
		// controller does: a reconciler stopped in between fires the tick
		// again on its return, and the run's name, derived from the tick,
		// makes that second create find the first. Recording first would
		// lose the tick instead.
		if err := c.createScheduledRun(ctx, d, i, id, tick); err != nil {
			c.log.Error("creating scheduled run", "deployment", d.FullName(), "tick", tick, "err", err)
			break
		}
		if err := c.state.fired(ctx, id, tick, live); err != nil {
			c.log.Error("recording schedule tick", "deployment", d.FullName(), "tick", tick, "err", err)
			break
		}
	}
	return next
}

func (c *Controller) createScheduledRun(ctx context.Context, d *v1alpha1.Deployment, i int, id string, tick time.Time) error {
	s := d.Schedules[i]
	req := &v1alpha1.RunRequest{Deployment: d.FullName(), ScheduledTime: &metav1.Time{Time: tick}}
	if len(s.Parameters) > 0 {
		req.Parameters = s.Parameters
	}
	cm, err := v1alpha1.NewRunRequest(c.opts.Namespace, ScheduledRunName(d, i, tick), req)
	if err != nil {
		return err
	}
	cm.Labels[v1alpha1.LabelSchedule] = id
	data := cm.Data[v1alpha1.KeyRun]
	cm.Annotations = map[string]string{v1alpha1.AnnotationScheduled: c.state.sign(types.UID(cm.Name), "", data)}
	ours, err := c.createOnce(ctx, cm)
	if err == nil && !ours {
		// A run someone made first under the tick's predictable name:
		// the tick gets a run of its own under a name only the key can
		// predict, so a second try finds it too.
		cm.Name = altRunName(cm.Name, c.state.sign(types.UID(cm.Name+"/alt"), "", data))
		cm.Annotations[v1alpha1.AnnotationScheduled] = c.state.sign(types.UID(cm.Name), "", data)
		if ours, err = c.createOnce(ctx, cm); err == nil && !ours {
			err = fmt.Errorf("run %s exists and was not made by this schedule", cm.Name)
		}
	}
	if err == nil {
		c.log.Info("schedule fired", "deployment", d.FullName(), "run", cm.Name, "tick", tick)
	}
	return err
}

// createOnce creates a scheduled run, or finds it made by an earlier try
// (its signature matches). ours is false, with no error, when the name is
// held by a run this schedule did not make.
func (c *Controller) createOnce(ctx context.Context, cm *corev1.ConfigMap) (ours bool, err error) {
	cms := c.client.CoreV1().ConfigMaps(c.opts.Namespace)
	_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "flows-reconciler"})
	if !apierrors.IsAlreadyExists(err) {
		return err == nil, err
	}
	existing, err := cms.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	return existing.Annotations[v1alpha1.AnnotationScheduled] == cm.Annotations[v1alpha1.AnnotationScheduled], nil
}

// altRunName is a tick's second name: its first with a suffix drawn from
// a signature, which no submitter can compute before the tick.
func altRunName(name, sig string) string {
	sum := sha256.Sum256([]byte(sig))
	return name + "-" + hex.EncodeToString(sum[:5])
}

// ScheduleID identifies a schedule by its deployment, position and
// definition, so editing a schedule starts it afresh instead of
// backfilling under the new definition.
func ScheduleID(d *v1alpha1.Deployment, i int) string {
	s := d.Schedules[i]
	iv := ""
	if s.Interval != nil {
		iv = s.Interval.Duration.String()
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s#%d|%s|%s|%s", d.FullName(), i, s.Cron, s.Timezone, iv)))
	return hex.EncodeToString(sum[:])[:20]
}

// ScheduledRunName is the run a schedule makes for a tick.
func ScheduledRunName(d *v1alpha1.Deployment, i int, tick time.Time) string {
	return fmt.Sprintf("%s-%s-s%d-%s", d.Flow, d.Name, i, tick.UTC().Format("20060102-150405"))
}
