package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

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

// fireSchedules creates the run of each schedule's latest due tick that
// has none yet, and returns the earliest next tick. After downtime only the
// latest missed tick per schedule is run, never a backlog.
func (c *Controller) fireSchedules(ctx context.Context, armed map[string]time.Time) time.Time {
	now := c.opts.Now()
	cms, err := c.configs.List(labels.Everything())
	if err != nil {
		return time.Time{}
	}
	cfg := c.cfgCache.build(cms)
	var earliest time.Time
	names := make([]string, 0, len(cfg.Deployments))
	for n := range cfg.Deployments {
		names = append(names, n)
	}
	sort.Strings(names)
	live := map[string]bool{}
	for _, d := range cfg.Deployments {
		for i := range d.Schedules {
			live[ScheduleID(&d.Deployment, i)] = true
		}
	}
	for _, n := range names {
		d := cfg.Deployments[n]
		if project.PauseOf(nil, "", d).Paused() {
			continue
		}
		for i, s := range d.Schedules {
			if s.Active != nil && !*s.Active {
				continue
			}
			id := ScheduleID(&d.Deployment, i)
			if _, ok := armed[id]; !ok {
				armed[id] = now
			}
			last := c.state.lastFired(id)
			from := armed[id]
			if !last.IsZero() && last.Before(from) {
				from = last
			}
			prev, next, err := project.Ticks(s, from, now)
			if err != nil {
				c.log.Error("schedule cannot be evaluated", "deployment", n, "schedule", i, "err", err)
				continue
			}
			if !prev.IsZero() && prev.After(last) && (!last.IsZero() || !prev.Before(armed[id])) {
				// The tick is recorded before its run is made: a
				// failure in between loses the tick (the next one
				// comes), never fires it twice.
				if err := c.state.fired(ctx, id, prev, live); err != nil {
					c.log.Error("recording schedule tick", "deployment", n, "tick", prev, "err", err)
					continue
				}
				if err := c.createScheduledRun(ctx, &d.Deployment, i, id, prev); err != nil {
					c.log.Error("creating scheduled run", "deployment", n, "tick", prev, "err", err)
				}
			}
			if earliest.IsZero() || next.Before(earliest) {
				earliest = next
			}
		}
	}
	for id := range armed {
		if !live[id] {
			delete(armed, id)
		}
	}
	return earliest
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
	cms := c.client.CoreV1().ConfigMaps(c.opts.Namespace)
	_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "flows-reconciler"})
	if apierrors.IsAlreadyExists(err) {
		// Ours, from a try whose answer was lost; or a run someone made
		// first under the tick's predictable name: then the tick gets a
		// run of its own under another name.
		existing, gerr := cms.Get(ctx, cm.Name, metav1.GetOptions{})
		if gerr != nil || existing.Annotations[v1alpha1.AnnotationScheduled] == cm.Annotations[v1alpha1.AnnotationScheduled] {
			return gerr
		}
		cm.GenerateName, cm.Name = cm.Name+"-", ""
		cm.Annotations = nil
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "flows-reconciler"})
	}
	if err == nil {
		c.log.Info("schedule fired", "deployment", d.FullName(), "run", cm.Name, "tick", tick)
	}
	return err
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
