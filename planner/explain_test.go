package planner

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// TestExplain: what Plan decides, read as why each waiting run has not
// started and its place among the runs waiting for the same limit, the
// order in which a pass hands that limit's slots out; a tag's start rate
// replayed from the starts the client saw, and a retry due later.
func TestExplain(t *testing.T) {
	limit := func(n int32) *int32 { return &n }
	in := func(d time.Duration) *time.Duration { return &d }
	cfg := planConfig(func(c *project.Installed) {
		c.Pools["p"].Queues[1].ConcurrencyLimit = limit(1) // p/lo
		c.TagLimits["db"] = 2
		c.Deployments["f/d"].Paused = true
		c.Deployments["f/c"].ConcurrencyLimit = limit(0)
		c.Deployments["f/c"].CollisionStrategy = v1alpha1.CollisionCancelNew
		c.TagLimits["api"] = 5
		c.TagRates = map[string]v1alpha1.TagLimit{"api": {Tag: "api", Limit: 5, Rate: "1/m"}}
	})
	runs := []planRun{
		{name: "lo-3", deployment: "f/a", created: -1 * time.Minute},
		{name: "lo-1", deployment: "f/b", created: -3 * time.Minute},
		{name: "lo-2", deployment: "f/a", created: -2 * time.Minute},
		{name: "db-b", deployment: "f/o", created: -2 * time.Minute, tags: []string{"db"}},
		{name: "db-a", deployment: "f/o", created: -2 * time.Minute, tags: []string{"db"}},
		{name: "db-c", deployment: "f/o", created: -time.Minute, tags: []string{"db"}},
		{name: "free", deployment: "f/o", created: -time.Minute},
		{name: "paused", deployment: "f/d", created: -time.Minute},
		{name: "later", deployment: "f/o", created: -time.Minute, due: in(time.Hour)},
		{name: "full", deployment: "f/c", created: -time.Minute},
		{name: "nowhere", deployment: "f/zz", created: -time.Minute},
		{name: "cancelled", deployment: "f/o", created: -time.Minute, tags: []string{"db"}},
		{name: "running", deployment: "f/o", created: -time.Hour, state: v1alpha1.StateRunning},
		{name: "rated", deployment: "f/o", created: -time.Minute, tags: []string{"api"}},
		{name: "retry", deployment: "f/o", created: -time.Hour, state: v1alpha1.StateScheduled},
	}
	retryAt := planNow.Add(40 * time.Second)
	retryStatus, err := v1alpha1.EncodeRunStatus(&v1alpha1.RunStatus{State: v1alpha1.StateScheduled, Reason: v1alpha1.ReasonRetrying,
		Attempt: 2, MaxAttempts: 3, RetryTime: &metav1.Time{Time: retryAt}})
	if err != nil {
		t.Fatal(err)
	}
	var cache RunCache
	var cms []*corev1.ConfigMap
	for _, r := range runs {
		w := r.waiting(t, &cache)
		if r.state != "" {
			w.ConfigMap.Labels = map[string]string{v1alpha1.LabelState: string(r.state)}
		}
		if r.name == "retry" {
			w.ConfigMap.Data[v1alpha1.KeyStatus] = retryStatus
		}
		cms = append(cms, w.ConfigMap)
	}
	held := map[[2]string]int32{{project.SlotQueue, "p/lo"}: 1, {project.SlotTag, "db"}: 1}
	got := Explain(ExplainInput{
		Now: planNow, Namespace: "flows", Config: cfg, Runs: cms,
		CancelAsked: func(cm *corev1.ConfigMap) bool { return cm.Name == "cancelled" },
		Held:        func(kind, name string) int32 { return held[[2]string{kind, name}] },
		// The one start a minute was taken 10s ago: the next is in 50s.
		Starts: map[string][]time.Time{"api": {planNow.Add(-10 * time.Second)}},
	})
	for n, w := range got {
		w.Due = w.Due.UTC() // decoded from YAML in the local zone
		got[n] = w
	}
	want := map[string]Waiting{
		// Creation first, then name: the order a pass takes them in.
		"lo-1": {Reason: "WaitingForSlot", Message: "waiting for a free slot of queue p/lo", On: "queue p/lo", Position: 1},
		"lo-2": {Reason: "WaitingForSlot", Message: "waiting for a free slot of queue p/lo", On: "queue p/lo", Position: 2},
		"lo-3": {Reason: "WaitingForSlot", Message: "waiting for a free slot of queue p/lo", On: "queue p/lo", Position: 3},
		// One db slot of two is free: db-a takes it, the others queue.
		"db-a":   {Reason: WaitStarts},
		"db-b":   {Reason: "WaitingForSlot", Message: "waiting for a free slot of tag db", On: "tag db", Position: 1},
		"db-c":   {Reason: "WaitingForSlot", Message: "waiting for a free slot of tag db", On: "tag db", Position: 2},
		"free":   {Reason: WaitStarts},
		"paused": {Reason: "Paused", Message: "deployment f/d is paused", On: "deployment f/d"},
		"later":  {Reason: "Scheduled", Message: "waiting for its scheduled time", Due: planNow.Add(time.Hour).UTC()},
		"full":   {Reason: WaitCancelNew, On: "deployment f/c"},
		"rated": {Reason: "WaitingForRate", On: "tag api", Due: planNow.Add(50 * time.Second).UTC(),
			Message: "waiting for the start rate of tag api (next start at " + planNow.Add(50*time.Second).UTC().Format(time.RFC3339) + ")"},
		"retry":   {Reason: "Scheduled", Message: "waiting for its scheduled time", Due: retryAt.UTC()},
		"nowhere": {Reason: WaitRejected, Message: `DeploymentNotFound: deployment "f/zz" not found; did you mean f/a, f/b, f/c, f/d, f/o?`},
	}
	if !reflect.DeepEqual(got, want) {
		for n := range want {
			if !reflect.DeepEqual(got[n], want[n]) {
				t.Errorf("%s: %+v\n  want %+v", n, got[n], want[n])
			}
		}
		for n := range got {
			if _, ok := want[n]; !ok {
				t.Errorf("%s explained: %+v", n, got[n])
			}
		}
	}
}
