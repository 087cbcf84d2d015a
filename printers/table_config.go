package printers

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Kinds are the kinds `get` knows, in the order its usage lists them.
var Kinds = []*Kind{RunKind, DeploymentKind, PoolKind, QueueKind, LimitKind}

// DeploymentKind is `get deployments`.
var DeploymentKind = &Kind{
	Kind: "Deployment", Plural: "deployments", Aliases: []string{"deployment", "deployments", "deploy", "deploys"},
	Columns: []metav1.TableColumnDefinition{
		col("Name", false, "flow/name"),
		col("Pool", false, ""),
		col("Queue", false, ""),
		col("Schedule", false, ""),
		col("Paused", false, ""),
		col("Slots", false, "runs in flight / concurrency limit"),
		col("Last Run", false, "state (age) of the newest run"),
		col("Next Run", false, "next scheduled time (UTC)"),
		col("Waiting", true, "runs waiting for a slot"),
		col("Tags", true, ""),
		col("Entrypoint", true, ""),
	},
	Rows: func(s *client.Snapshot) []Row {
		var out []Row
		for _, v := range s.ViewDeployments() {
			out = append(out, deploymentRow(s, &v))
		}
		return out
	},
}

type deploymentStatusView struct {
	Paused      client.PauseState `json:"paused"`
	SlotsInUse  int32             `json:"slotsInUse"`
	Waiting     int32             `json:"waiting"`
	LastRun     *lastRunView      `json:"lastRun,omitempty"`
	NextRunTime *metav1.Time      `json:"nextRunTime,omitempty"`
}

type lastRunView struct {
	Name    string            `json:"name"`
	State   v1alpha1.RunState `json:"state"`
	Created metav1.Time       `json:"creationTimestamp"`
}

func deploymentRow(s *client.Snapshot, v *client.DeploymentView) Row {
	st := deploymentStatusView{Paused: v.Paused, SlotsInUse: v.InUse, Waiting: v.Waiting}
	lastCell := "<none>"
	if r := v.LastRun; r != nil {
		st.LastRun = &lastRunView{Name: r.Name, State: r.State, Created: metav1.NewTime(r.Created)}
		lastCell = fmt.Sprintf("%s (%s)", r.State, r.Age)
	}
	if !v.NextRun.IsZero() {
		st.NextRunTime = &metav1.Time{Time: v.NextRun}
	}
	d := v.Config
	return Row{
		Name:   v.Name,
		Labels: d.ConfigMap.Labels,
		Cells: []any{
			v.Name, v.Pool, v.Queue, orNone(schedulesCell(v.Schedules)), v.Paused.String(),
			slotsCell(v.InUse, v.Limit), lastCell, timeCell(v.NextRun),
			fmt.Sprint(v.Waiting), orNone(strings.Join(v.Tags, ",")), d.Entrypoint,
		},
		Object: object("Deployment", v.Name, s.Namespace, d.ConfigMap.CreationTimestamp.Time, d.ConfigMap.Labels, d.Deployment, st),
	}
}

func schedulesCell(scs []client.ScheduleView) string {
	parts := make([]string, len(scs))
	for i := range scs {
		parts[i] = scs[i].Summary()
	}
	return strings.Join(parts, ", ")
}

// PoolKind is `get pools`.
var PoolKind = &Kind{
	Kind: "Pool", Plural: "pools", Aliases: []string{"pool", "pools", "workpool", "workpools", "wp"},
	Columns: []metav1.TableColumnDefinition{
		col("Name", false, ""),
		col("Paused", false, ""),
		col("Slots", false, "runs in flight / concurrency limit"),
		col("Waiting", false, "runs waiting for a slot"),
		col("Queues", false, ""),
		col("Deployments", true, ""),
	},
	Rows: func(s *client.Snapshot) []Row {
		var out []Row
		for _, p := range s.ViewPools() {
			st := poolStatusView{Paused: p.Paused, SlotsInUse: p.InUse, Waiting: p.Waiting, PausedQueues: p.PausedQueues}
			var queues []string
			for _, q := range p.Queues {
				queues = append(queues, q.Queue)
			}
			cm := p.Config.ConfigMap
			out = append(out, Row{
				Name:   p.Name,
				Labels: cm.Labels,
				Cells: []any{
					p.Name, p.Paused.String(), slotsCell(p.InUse, p.Limit), fmt.Sprint(p.Waiting),
					orNone(strings.Join(queues, ",")), orNone(strings.Join(p.Deployments, ",")),
				},
				Object: object("Pool", p.Name, s.Namespace, cm.CreationTimestamp.Time, cm.Labels, p.Config.Pool, st),
			})
		}
		return out
	},
}

type poolStatusView struct {
	Paused       client.PauseState `json:"paused"`
	SlotsInUse   int32             `json:"slotsInUse"`
	Waiting      int32             `json:"waiting"`
	PausedQueues []string          `json:"pausedQueues,omitempty"`
}

// QueueKind is `get queues`.
var QueueKind = &Kind{
	Kind: "Queue", Plural: "queues", Aliases: []string{"queue", "queues", "workqueue", "workqueues", "wq"},
	Columns: []metav1.TableColumnDefinition{
		col("Name", false, "pool/queue"),
		col("Priority", false, "lower is served first"),
		col("Paused", false, ""),
		col("Slots", false, "runs in flight / concurrency limit"),
		col("Waiting", false, "runs waiting for a slot"),
	},
	Rows: func(s *client.Snapshot) []Row {
		var out []Row
		for _, q := range s.ViewQueues() {
			st := queueStatusView{Paused: q.Paused, SlotsInUse: q.InUse, Waiting: q.Waiting}
			labels := map[string]string{v1alpha1.LabelPool: q.Pool, v1alpha1.LabelQueue: q.Queue}
			out = append(out, Row{
				Name:   q.Name,
				Labels: labels,
				Cells:  []any{q.Name, fmt.Sprint(q.Priority), q.Paused.String(), slotsCell(q.InUse, q.Limit), fmt.Sprint(q.Waiting)},
				Object: object("Queue", q.Name, s.Namespace, q.PoolConfig.ConfigMap.CreationTimestamp.Time, labels,
					queueSpecView{Pool: q.Pool, Queue: *q.Config}, st),
			})
		}
		return out
	},
}

type queueSpecView struct {
	Pool string `json:"pool"`
	v1alpha1.Queue
}

type queueStatusView struct {
	Paused     client.PauseState `json:"paused"`
	SlotsInUse int32             `json:"slotsInUse"`
	Waiting    int32             `json:"waiting"`
}

// LimitKind is `get limits`: every pool, queue, deployment and tag limit.
var LimitKind = &Kind{
	Kind: "ConcurrencyLimit", Plural: "limits", Aliases: []string{"tag", "tags", "limit", "limits", "concurrencylimit", "concurrencylimits"},
	Columns: []metav1.TableColumnDefinition{
		col("Kind", false, "pool, queue, deployment (with a limit) or tag"),
		col("Name", false, ""),
		col("Slots", false, "runs in flight holding a slot / limit"),
		col("Waiting", false, "runs waiting for a slot"),
		col("Oldest Holder", false, "how long the run holding a slot longest has held it"),
		col("Rate", false, "a tag's start rate: starts per period on average, and at once (burst)"),
		col("Next Start", false, "when a tag's start rate lets the next run start"),
		col("Holders", true, "the runs holding its slots, oldest first"),
	},
	Rows: func(s *client.Snapshot) []Row {
		var out []Row
		for _, l := range s.ViewLimits() {
			st := limitStatusView{SlotsInUse: l.InUse, Waiting: l.Waiting}
			oldest, names := "<none>", make([]string, len(l.Holders))
			for i, h := range l.Holders {
				names[i] = h.Run
				st.Holders = append(st.Holders, holderView{Run: h.Run, Since: metav1.NewTime(h.Since)})
			}
			if len(l.Holders) > 0 {
				oldest = l.Holders[0].Age
			}
			if l.Kind != project.SlotTag {
				st.Paused = l.Paused.String()
			}
			spec := limitSpecView{Kind: l.Kind, Name: l.Name, Limit: l.Limit}
			rate, next := "<none>", "<none>"
			if r := l.Rate; r != nil {
				spec.Rate, spec.Burst = r.Rate, &r.Burst
				st.NextStartTime = &metav1.Time{Time: r.Next}
				rate, next = r.Text(), r.NextText
			}
			out = append(out, Row{
				Name:   l.Name,
				Labels: map[string]string{"kind": l.Kind},
				Cells:  []any{l.Kind, l.Name, slotsCell(l.InUse, l.Limit), fmt.Sprint(l.Waiting), oldest, rate, next, orNone(strings.Join(names, ","))},
				Object: object("ConcurrencyLimit", l.Name, s.Namespace, time.Time{}, nil, spec, st),
			})
		}
		return out
	},
}

type limitSpecView struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Limit *int32 `json:"limit,omitempty"`
	// Rate and Burst: a tag's start rate, as limits.yaml gives it, and
	// its burst (1 when limits.yaml gives none).
	Rate  string `json:"rate,omitempty"`
	Burst *int32 `json:"burst,omitempty"`
}

type limitStatusView struct {
	SlotsInUse int32        `json:"slotsInUse"`
	Waiting    int32        `json:"waiting"`
	Paused     string       `json:"paused,omitempty"`
	Holders    []holderView `json:"holders,omitempty"`
	// NextStartTime is when a tag's start rate lets the next run start,
	// worked out from the runs' pendingTimes.
	NextStartTime *metav1.Time `json:"nextStartTime,omitempty"`
}

// holderView is a run holding a slot, since it took it.
type holderView struct {
	Run   string      `json:"run"`
	Since metav1.Time `json:"since"`
}
