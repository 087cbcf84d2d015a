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
	for _, n := range names {
		d := cfg.Deployments[n]
		if d.Paused {
			continue
		}
		for i, s := range d.Schedules {
			if s.Active != nil && !*s.Active {
				continue
			}
			id := ScheduleID(&d.Deployment, i)
			live[id] = true
			if _, ok := armed[id]; !ok {
				armed[id] = now
			}
			last := c.lastFired(id)
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

// lastFired is the latest scheduled time among the runs a schedule made.
func (c *Controller) lastFired(id string) time.Time {
	runs, err := c.runs.List(labels.SelectorFromSet(labels.Set{project.LabelSchedule: id}))
	if err != nil {
		return time.Time{}
	}
	var last time.Time
	for _, r := range runs {
		pr := c.parsed.get(r)
		if pr.req != nil && pr.req.ScheduledTime != nil && pr.req.ScheduledTime.After(last) {
			last = pr.req.ScheduledTime.Time
		}
	}
	return last
}

func (c *Controller) createScheduledRun(ctx context.Context, d *project.Deployment, i int, id string, tick time.Time) error {
	s := d.Schedules[i]
	req := &project.RunRequest{Deployment: d.FullName(), ScheduledTime: &metav1.Time{Time: tick}}
	if len(s.Parameters) > 0 {
		req.Parameters = s.Parameters
	}
	data, err := project.EncodeRunRequest(req)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ScheduledRunName(d, i, tick),
			Namespace: c.opts.Namespace,
			Labels: map[string]string{
				project.LabelRun:        "true",
				project.LabelSchedule:   id,
				project.LabelFlow:       d.Flow,
				project.LabelDeployment: project.DeploymentLabelValue(d.Flow, d.Name),
			},
		},
		Data: map[string]string{project.KeyRun: data},
	}
	_, err = c.client.CoreV1().ConfigMaps(c.opts.Namespace).Create(ctx, cm, metav1.CreateOptions{FieldManager: "flows-reconciler"})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil {
		c.log.Info("schedule fired", "deployment", d.FullName(), "run", cm.Name, "tick", tick)
	}
	return err
}

// ScheduleID identifies a schedule by its deployment, position and
// definition, so editing a schedule starts it afresh instead of
// backfilling under the new definition.
func ScheduleID(d *project.Deployment, i int) string {
	s := d.Schedules[i]
	iv := ""
	if s.Interval != nil {
		iv = s.Interval.Duration.String()
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s#%d|%s|%s|%s", d.FullName(), i, s.Cron, s.Timezone, iv)))
	return hex.EncodeToString(sum[:])[:20]
}

// ScheduledRunName is the run a schedule makes for a tick.
func ScheduledRunName(d *project.Deployment, i int, tick time.Time) string {
	return fmt.Sprintf("%s-%s-s%d-%s", d.Flow, d.Name, i, tick.UTC().Format("20060102-150405"))
}
