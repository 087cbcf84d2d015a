package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	flowsreconciler "github.com/kubectl-flows/kubectl-flows/reconciler"
)

// scheduleAttackProject has a schedule that fires once in the test (a
// daily cron at a minute filled in when the test starts) and one every
// 2 s; finished runs are pruned a second after they end, so a tick's run
// is gone long before the schedule's next tick.
const scheduleAttackProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: sched-attack
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
    runRetention: {age: 1s}
deployments:
  - flow: tick
    name: once
    entrypoint: x.py:f
    pool: p
    schedules:
      - cron: "%d %d * * *"
  - flow: tick
    name: every-2s
    entrypoint: x.py:f
    pool: p
    schedules:
      - interval: 2s
`

// scheduledRun is a run labelled with a schedule, as a watch saw it made.
type scheduledRun struct {
	name, schedule, manager string
	tick                    time.Time
}

// scheduledWatch records every ConfigMap labelled with a schedule as it is
// created, and which are deleted: retention prunes a tick's run within
// seconds, so a list would not see them all.
type scheduledWatch struct {
	mu      sync.Mutex
	added   []scheduledRun
	deleted map[string]bool
}

func (e *env) watchScheduled(ctx context.Context) *scheduledWatch {
	e.t.Helper()
	w, err := cp.Client.CoreV1().ConfigMaps(e.ns).Watch(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelSchedule})
	must(e.t, err)
	e.t.Cleanup(w.Stop)
	sw := &scheduledWatch{deleted: map[string]bool{}}
	go func() {
		for ev := range w.ResultChan() {
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				continue
			}
			sw.mu.Lock()
			switch ev.Type {
			case watch.Added:
				r := scheduledRun{name: cm.Name, schedule: cm.Labels[v1alpha1.LabelSchedule]}
				if len(cm.ManagedFields) > 0 {
					r.manager = cm.ManagedFields[0].Manager
				}
				if req, err := v1alpha1.DecodeRunRequest(cm.Data[v1alpha1.KeyRun]); err == nil && req.ScheduledTime != nil {
					r.tick = req.ScheduledTime.Time
				}
				sw.added = append(sw.added, r)
			case watch.Deleted:
				sw.deleted[cm.Name] = true
			}
			sw.mu.Unlock()
		}
	}()
	return sw
}

// fired lists the runs the reconciler made for a schedule, in order.
func (sw *scheduledWatch) fired(id string) []scheduledRun {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	var out []scheduledRun
	for _, r := range sw.added {
		if r.schedule == id && r.manager == "flows-reconciler" {
			out = append(out, r)
		}
	}
	return out
}

func (sw *scheduledWatch) wasDeleted(name string) bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.deleted[name]
}

// waitUntil polls cond every 100 ms, failing the test with what() on timeout.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestScheduleAttacks is item 6 of issue 12, made as a submitter: a run
// forged with a schedule's label and a far-future tick does not stop the
// schedule, a run created first under a tick's predictable name does not
// take the tick, and a tick whose run retention pruned does not fire
// again, neither in the same reconciler nor after a kill -9 and restart.
func TestScheduleAttacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The once-a-day tick, 25 to 85 s from now: after the reconciler has
	// started and armed the schedule.
	onceTick := time.Now().UTC().Add(25 * time.Second).Truncate(time.Minute).Add(time.Minute)
	e := newEnv(t, fmt.Sprintf(scheduleAttackProject, onceTick.Minute(), onceTick.Hour()), map[string]string{"template.json": testTemplate})
	_, sub := e.bindUser(ctx, "flows-submitter", "mallory")
	var once, every *v1alpha1.Deployment
	for i := range e.loaded.Deployments {
		switch d := &e.loaded.Deployments[i]; d.Name {
		case "once":
			once = d
		case "every-2s":
			every = d
		}
	}
	onceID, everyID := flowsreconciler.ScheduleID(once, 0), flowsreconciler.ScheduleID(every, 0)
	sw := e.watchScheduled(ctx)
	r := e.startReconciler("", "--retention-interval=1s")

	// submit creates a run as the submitter, labelled as a schedule's and
	// for the given tick, as an attacker would make it look.
	submit := func(t *testing.T, name string, d *v1alpha1.Deployment, id string, tick time.Time, extra string) {
		t.Helper()
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				v1alpha1.LabelRun: "true", v1alpha1.LabelSchedule: id,
				v1alpha1.LabelFlow: d.Flow, v1alpha1.LabelDeployment: v1alpha1.DeploymentLabelValue(d.Flow, d.Name),
			}},
			Data: map[string]string{v1alpha1.KeyRun: fmt.Sprintf("deployment: %s\nscheduledTime: %q\n%s", d.FullName(), tick.UTC().Format(time.RFC3339), extra)},
		}
		if _, err := sub.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s as the submitter: %v", name, err)
		}
	}
	far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	submit(t, "forged-once", once, onceID, far, "")
	submit(t, "forged-every", every, everyID, far, "")

	t.Run("a forged run with a tick in 2099 does not stop a schedule", func(t *testing.T) {
		before := len(sw.fired(everyID))
		waitUntil(t, 20*time.Second, func() bool { return len(sw.fired(everyID)) >= before+3 },
			func() string {
				return fmt.Sprintf("the 2 s schedule fired %d times after the forged run", len(sw.fired(everyID))-before)
			})
	})

	t.Run("a run created first under a tick's name does not take the tick", func(t *testing.T) {
		fires, err := project.NextFires(every.Schedules[0], time.Now(), 6)
		must(t, err)
		var ticks []time.Time
		for _, tick := range fires[2:] { // 4 to 10 s ahead: taken before they fire
			ticks = append(ticks, tick)
			submit(t, flowsreconciler.ScheduledRunName(every, 0, tick), every, everyID, tick, "jobVariables: {env: {HIJACKED: \"1\"}}\n")
		}
		last := ticks[len(ticks)-1]
		time.Sleep(time.Until(last) + 3*time.Second)
		for _, tick := range ticks {
			taken := flowsreconciler.ScheduledRunName(every, 0, tick)
			var own []string
			for _, f := range sw.fired(everyID) {
				if f.tick.Equal(tick) {
					own = append(own, f.name)
				}
			}
			if len(own) != 1 || !strings.HasPrefix(own[0], taken+"-") {
				t.Errorf("tick %s, whose name %s a submitter took first: the reconciler's runs for it are %v, want one under another name", tick.Format(time.TimeOnly), taken, own)
			}
		}
	})

	t.Run("a tick whose run was pruned does not fire again", func(t *testing.T) {
		waitUntil(t, time.Until(onceTick)+30*time.Second, func() bool { return len(sw.fired(onceID)) > 0 },
			func() string {
				return fmt.Sprintf("the daily schedule did not fire at %s", onceTick.Format(time.TimeOnly))
			})
		first := sw.fired(onceID)[0]
		if !first.tick.Equal(onceTick) {
			t.Fatalf("the daily schedule fired tick %v, want %v", first.tick, onceTick)
		}
		waitUntil(t, 60*time.Second, func() bool { return sw.wasDeleted(first.name) },
			func() string { return fmt.Sprintf("retention did not prune the tick's run %s", first.name) })
		// The 2 s schedule keeps the loop passing every 2 s: a re-fire
		// in the same reconciler would come within seconds.
		time.Sleep(6 * time.Second)
		r.Kill()
		r = e.startReconciler("", "--retention-interval=1s")
		time.Sleep(8 * time.Second)
		if got := sw.fired(onceID); len(got) != 1 {
			t.Errorf("the daily schedule fired %d runs for one tick: %+v", len(got), got)
		}
	})

	// Across the whole test, no tick of either schedule fired twice.
	for _, id := range []string{onceID, everyID} {
		seen := map[time.Time]string{}
		for _, f := range sw.fired(id) {
			if prev, ok := seen[f.tick]; ok {
				t.Errorf("tick %v fired twice: %s and %s", f.tick, prev, f.name)
			}
			seen[f.tick] = f.name
		}
	}
}
