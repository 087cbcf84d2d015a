package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	flowsreconciler "github.com/kubectl-flows/kubectl-flows/reconciler"
)

// catchUpProject has three one-minute schedules, one per catch-up policy;
// the All one has parameters of its own over the deployment's.
const catchUpProject = `apiVersion: kubectl-flows.dev/v1alpha1
kind: Project
name: catchup
namespace: NS
pools:
  - name: p
    baseJobTemplate: template.json
deployments:
  - flow: minutely
    name: none
    entrypoint: x.py:f
    pool: p
    schedules:
      - {cron: "* * * * *", catchup: None}
  - flow: minutely
    name: latest
    entrypoint: x.py:f
    pool: p
    schedules:
      - {cron: "* * * * *"}
  - flow: minutely
    name: all
    entrypoint: x.py:f
    pool: p
    parameters: {who: deployment, size: 1}
    parameterSchema:
      type: object
      properties:
        who: {type: string}
        size: {type: integer}
    schedules:
      - cron: "* * * * *"
        catchup: All
        maxCatchup: 5
        parameters: {who: catch-up}
`

// TestScheduleCatchUp is the catch-up policy on the real reconciler and
// API server: a one-minute schedule whose reconciler last fired ten
// minutes ago (its state Secret says so, as a reconciler stopped since
// then would have left it) is started again. None makes no late run,
// Latest one (the latest tick), All with maxCatchup 5 five (the latest
// five ticks, each with its own scheduled time and the schedule's
// parameters over the deployment's); a kill -9 and restart fires none of
// them again.
func TestScheduleCatchUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, catchUpProject, map[string]string{"template.json": testTemplate})
	ids := map[string]string{}
	for i := range e.loaded.Deployments {
		d := &e.loaded.Deployments[i]
		ids[d.Name] = flowsreconciler.ScheduleID(d, 0)
	}

	// None decides by whether a tick is still on time (15 s): restart
	// between :20 and :45 of a minute, so the latest tick is late and the
	// next not yet due, whatever the machine's speed.
	for s := time.Now().Second(); s < 20 || s > 38; s = time.Now().Second() {
		time.Sleep(200 * time.Millisecond)
	}
	latestTick := time.Now().UTC().Truncate(time.Minute)
	lastFired := latestTick.Add(-10 * time.Minute)

	// A first reconciler makes its state Secret (and arms the schedules,
	// firing nothing: no tick passes while it runs).
	r := e.startReconciler("")
	secrets := cp.Client.CoreV1().Secrets(e.ns)
	waitUntil(t, 20*time.Second, func() bool {
		_, err := secrets.Get(ctx, v1alpha1.StateSecretName, metav1.GetOptions{})
		return err == nil
	}, func() string { return "the reconciler made no state Secret" })
	r.stop(t)

	// Its view of the last fired tick, ten minutes back.
	state := map[string]time.Time{}
	for _, id := range ids {
		state[id] = lastFired
	}
	raw, err := json.Marshal(state)
	must(t, err)
	patch, err := json.Marshal(map[string]any{"data": map[string][]byte{"schedules.json": raw}})
	must(t, err)
	_, err = secrets.Patch(ctx, v1alpha1.StateSecretName, types.MergePatchType, patch, metav1.PatchOptions{})
	must(t, err)

	sw := e.watchScheduled(ctx)
	r = e.startReconciler("")
	missed := func(name string) []time.Time {
		var out []time.Time
		for _, f := range sw.fired(ids[name]) {
			if !f.tick.After(latestTick) { // a later tick is on time, not caught up
				out = append(out, f.tick)
			}
		}
		return out
	}
	waitUntil(t, 20*time.Second, func() bool { return len(missed("all")) >= 5 && len(missed("latest")) >= 1 },
		func() string {
			return fmt.Sprintf("caught up: None %v, Latest %v, All %v", missed("none"), missed("latest"), missed("all"))
		})
	time.Sleep(2 * time.Second) // anything more would come now
	r.Kill()
	e.startReconciler("")
	time.Sleep(4 * time.Second)

	var wantAll []time.Time
	for k := 4; k >= 0; k-- {
		wantAll = append(wantAll, latestTick.Add(-time.Duration(k)*time.Minute))
	}
	for name, want := range map[string][]time.Time{"none": nil, "latest": {latestTick}, "all": wantAll} {
		if got := missed(name); !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("catchup of minutely/%s after ten minutes down, through a kill -9: fired %v, want %v", name, got, want)
		}
	}

	// The schedule's parameters over the deployment's, as the reconciler
	// resolved them for a caught-up run.
	run := flowsreconciler.ScheduledRunName(deploymentNamed(t, e, "all"), 0, wantAll[0])
	st := waitState(t, ctx, e.ns, run, v1alpha1.StateCompleted, 60*time.Second)
	if want := map[string]any{"who": "catch-up", "size": float64(1)}; !reflect.DeepEqual(st.Parameters, want) {
		t.Errorf("run %s resolved parameters %v, want %v", run, st.Parameters, want)
	}
	t.Logf("None %v, Latest %v, All %v", missed("none"), missed("latest"), missed("all"))
}

func deploymentNamed(t *testing.T, e *env, name string) *v1alpha1.Deployment {
	t.Helper()
	for i := range e.loaded.Deployments {
		if e.loaded.Deployments[i].Name == name {
			return &e.loaded.Deployments[i]
		}
	}
	t.Fatalf("no deployment %s", name)
	return nil
}
