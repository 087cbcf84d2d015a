package planner

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Why a waiting run has not started, as a dispatch pass decides it: the
// Reason of its decision (plan's), or one of these.
const (
	// WaitStarts: a pass would start it now; the reconciler has not yet.
	WaitStarts = "Starts"
	// WaitRejected: a pass would reject it (Message says why).
	WaitRejected = "Rejected"
	// WaitCancelNew: its deployment is full and turns new runs away.
	WaitCancelNew = "CancelNew"
)

// Waiting is what a dispatch pass would decide for a waiting run now.
type Waiting struct {
	// Reason is plan's: WaitingForSlot, Paused, Scheduled (not yet due,
	// or its retry not yet), WaitingForRate, WaitingForConfig; or
	// WaitStarts, WaitRejected, WaitCancelNew.
	Reason, Message string
	// On names the limit with no free slot ("tag db"), what is paused
	// ("queue pool/queue"), or the tag whose start rate holds the run
	// back ("tag db").
	On string
	// Position is the run's place among the runs waiting for the same
	// limit, counting from 1, in the order a pass hands out its slots; 0
	// when it waits for no slot.
	Position int
	// Due is when a run not yet due, or held back by a start rate, may
	// start.
	Due time.Time
}

// ExplainInput is what a client saw of a namespace, for Explain: the
// installed config, its runs (those new or Scheduled are explained) and
// the slots in use.
type ExplainInput struct {
	Now       time.Time
	Namespace string
	Config    *project.Installed
	Runs      []*corev1.ConfigMap
	// CancelAsked says a run was asked to stop: a pass leaves it to its sync.
	CancelAsked func(*corev1.ConfigMap) bool
	// Held counts the slots in use of a limit, keyed as client.Usage
	// keys them.
	Held func(kind, name string) int32
	// Starts are, by tag, when runs carrying it took their slots: the
	// start rates are replayed from them, as a pass replays them from
	// Jobs.
	Starts map[string][]time.Time
}

// Explain runs the dispatch pass's own plan, read only, over what a
// client saw, and says for each waiting run (by name) what the pass would
// do with it: the order of the positions is the order in which the pass
// hands out slots. The client cannot see the reconciler's writes in
// flight, so a run the reconciler is about to start may show WaitStarts;
// a run's state is taken from its label, unverified.
func Explain(in ExplainInput) map[string]Waiting {
	var cache RunCache
	byName := make(map[string]*corev1.ConfigMap, len(in.Runs))
	for _, cm := range in.Runs {
		byName[cm.Name] = cm
	}
	pin := Input{Now: in.Now, Namespace: in.Namespace, Config: in.Config, ConfigGen: 1, Held: in.Held, Rates: map[string]*project.StartBucket{}}
	for tag, l := range in.Config.TagRates {
		if b := project.ReplayRate(&l, in.Starts[tag], in.Now); b != nil {
			pin.Rates[tag] = b
		}
	}
	for _, cm := range in.Runs {
		state := v1alpha1.RunState(cm.Labels[v1alpha1.LabelState])
		if state != "" && state != v1alpha1.StateScheduled {
			continue
		}
		w := WaitingRun{ConfigMap: cm, State: state, Parsed: cache.Get(cm), Cancel: in.CancelAsked != nil && in.CancelAsked(cm), Attempt: 1}
		if state != "" {
			w.Attempt, w.RetryAt = cache.Attempt(cm)
		}
		if ref := w.Parsed.Request; ref != nil && ref.Parent != nil {
			w.Parent = seenParent(in.Config, &cache, byName[ref.Parent.Run])
		}
		pin.Waiting = append(pin.Waiting, w)
	}
	AdmitWaiting(pin)
	return waitings(Plan(pin).Decisions)
}

// seenParent is what a client saw of a run named as a parent.
func seenParent(cfg *project.Installed, cache *RunCache, cm *corev1.ConfigMap) ParentSeen {
	if cm == nil {
		return ParentSeen{}
	}
	p := ParentSeen{Run: cm, State: v1alpha1.RunState(cm.Labels[v1alpha1.LabelState])}
	if pr := cache.Get(cm); pr.Request != nil {
		p.Deployment = pr.Request.Deployment
		if d := cfg.Deployments[pr.Request.Deployment]; d != nil {
			p.Starts = &d.Deployment
		}
	}
	return p
}

// waitings reads a pass's decisions as Waitings: a run waiting for a slot
// is placed after the runs decided before it that wait for the same
// limit, since Plan decides in the order it hands out slots.
func waitings(decisions []Decision) map[string]Waiting {
	out := make(map[string]Waiting, len(decisions))
	inLine := map[string]int{}
	for _, d := range decisions {
		w := Waiting{Reason: d.Reason, Message: d.Message, On: d.On}
		switch d.Kind {
		case DecideAdmit:
			w.Reason = WaitStarts
		case DecideReject:
			w.Reason, w.Message = WaitRejected, d.Rejection.Reason+": "+d.Rejection.Message
		case DecideCancelNew:
			w.Reason, w.On = WaitCancelNew, "deployment "+d.Admission.Deployment.FullName()
		}
		if w.Reason == "WaitingForSlot" {
			inLine[w.On]++
			w.Position = inLine[w.On]
		}
		w.Due = d.Until
		out[d.Run.ConfigMap.Name] = w
	}
	return out
}
