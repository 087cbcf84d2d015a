package printers

import (
	"sort"
	"strings"

	"k8s.io/kubectl/pkg/describe"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// DescribeDeployment prints a deployment's description from its view.
func DescribeDeployment(w describe.PrefixWriter, s *client.Snapshot, v *client.DeploymentView) {
	d := v.Config
	field(w, 0, "Name:", "%s", v.Name)
	field(w, 0, "Namespace:", "%s", s.Namespace)
	field(w, 0, "ConfigMap:", "%s", d.ConfigMap.Name)
	if d.Description != "" {
		field(w, 0, "Description:", "%s", d.Description)
	}
	field(w, 0, "Entrypoint:", "%s", d.Entrypoint)
	if d.Image != "" {
		field(w, 0, "Image:", "%s", d.Image)
	}
	field(w, 0, "Pool:", "%s", v.Pool)
	field(w, 0, "Queue:", "%s", v.Queue)
	field(w, 0, "Tags:", "%s", orNone(strings.Join(v.Tags, ", ")))
	field(w, 0, "Paused:", "%s", v.Paused.Sentence())
	strategy := d.CollisionStrategy
	if strategy == "" {
		strategy = v1alpha1.CollisionEnqueue
	}
	field(w, 0, "Concurrency Limit:", "%s (%s when full)", project.LimitString(v.Limit), strategy)
	field(w, 0, "Slots In Use:", "%d", v.InUse)
	field(w, 0, "Waiting Runs:", "%d", v.Waiting)
	printSchedules(w, v.Schedules)
	block(w, 0, "Parameters", client.YAMLText(d.Parameters))
	if props, ok := d.ParameterSchema["properties"].(map[string]any); ok && len(props) > 0 {
		var names []string
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		field(w, 0, "Parameter Schema:", "properties %s", strings.Join(names, ", "))
	}
	block(w, 0, "Job Variables", client.YAMLText(d.JobVariables))
	field(w, 0, "Run Overrides:", "%s", runOverridesText(v.RunOverrides))
	field(w, 0, "Retries:", "%s", v.Retries)
	timeout := "none"
	if v.Timeout > 0 {
		timeout = v.Timeout.String() + " from the pod's start"
	}
	field(w, 0, "Timeout:", "%s", timeout)
	printRecentRuns(w, s, v.Name)
}

func printSchedules(w describe.PrefixWriter, scs []client.ScheduleView) {
	if !tableSection(w, 0, "Schedules", "Schedule\tActive\tCatch-up\tParameters\tNext Run", len(scs)) {
		return
	}
	for _, sc := range scs {
		next := "<none>"
		if len(sc.Next) > 0 {
			next = timeCell(sc.Next[0])
		}
		params := sc.Parameters
		if params == "" {
			params = "<deployment's>"
		}
		w.Write(1, "%s\t%v\t%s\t%s\t%s\n", sc.Text, sc.Active, sc.CatchUp, params, next)
	}
}

// printRecentRuns prints a deployment's RecentRuns newest runs, newest first.
func printRecentRuns(w describe.PrefixWriter, s *client.Snapshot, deployment string) {
	var recent []*client.RunInfo
	for _, r := range s.Runs {
		if r.Deployment() == deployment {
			recent = append(recent, r)
		}
	}
	if len(recent) > RecentRuns {
		recent = recent[len(recent)-RecentRuns:]
	}
	if !tableSection(w, 0, "Recent Runs", "Name\tState\tReason\tAge\tDuration", len(recent)) {
		return
	}
	for i := len(recent) - 1; i >= 0; i-- {
		v := s.ViewRun(recent[i])
		w.Write(1, "%s\t%s\t%s\t%s\t%s\n", v.Name, v.StateText(), orNone(v.Reason), v.Age, orNone(v.Duration))
	}
}

// DescribePool prints a pool's description from its view.
func DescribePool(w describe.PrefixWriter, s *client.Snapshot, v *client.PoolView) {
	pool := v.Config
	field(w, 0, "Name:", "%s", v.Name)
	field(w, 0, "Namespace:", "%s", s.Namespace)
	field(w, 0, "ConfigMap:", "%s", pool.ConfigMap.Name)
	field(w, 0, "Paused:", "%s", v.Paused.Sentence())
	field(w, 0, "Concurrency Limit:", "%s", project.LimitString(v.Limit))
	field(w, 0, "Slots In Use:", "%d", v.InUse)
	field(w, 0, "Waiting Runs:", "%d", v.Waiting)
	if pool.Template != nil {
		field(w, 0, "Template Variables:", "%s", strings.Join(pool.Template.VariableNames(), ", "))
	}
	block(w, 0, "Job Variables", client.YAMLText(pool.JobVariables))
	field(w, 0, "Run Overrides:", "%s", runOverridesText(v.RunOverrides))
	w.Write(0, "Queues:\n")
	w.Write(1, "Name\tPriority\tPaused\tSlots\tWaiting\n")
	for _, q := range v.Queues {
		w.Write(1, "%s\t%d\t%s\t%s\t%d\n", q.Queue, q.Priority, q.Paused, slotsCell(q.InUse, q.Limit), q.Waiting)
	}
	field(w, 0, "Deployments:", "%s", orNone(strings.Join(v.Deployments, ", ")))
	printSlots(w, s, project.SlotPool, v.Name)
}

// DescribeQueue prints a queue's description from its view.
func DescribeQueue(w describe.PrefixWriter, s *client.Snapshot, v *client.QueueView) {
	field(w, 0, "Name:", "%s", v.Name)
	field(w, 0, "Namespace:", "%s", s.Namespace)
	field(w, 0, "Pool:", "%s", v.Pool)
	field(w, 0, "Priority:", "%d (lower is served first)", v.Priority)
	field(w, 0, "Paused:", "%s", v.Paused.Sentence())
	field(w, 0, "Concurrency Limit:", "%s", project.LimitString(v.Limit))
	field(w, 0, "Slots In Use:", "%d", v.InUse)
	field(w, 0, "Waiting Runs:", "%d", v.Waiting)
	printSlots(w, s, project.SlotQueue, v.Name)
}

// DescribeTagLimit prints a tag limit's description from its view.
func DescribeTagLimit(w describe.PrefixWriter, s *client.Snapshot, v *client.TagLimitView) {
	field(w, 0, "Name:", "%s", v.Tag)
	field(w, 0, "Namespace:", "%s", s.Namespace)
	field(w, 0, "Concurrency Limit:", "%d", v.Limit)
	if r := v.Rate; r != nil {
		field(w, 0, "Start Rate:", "%s", r.Text())
		field(w, 0, "Next Start:", "%s", r.NextText)
	} else {
		field(w, 0, "Start Rate:", "<none>")
	}
	field(w, 0, "Slots In Use:", "%d", v.InUse)
	field(w, 0, "Waiting Runs:", "%d", v.Waiting)
	field(w, 0, "Deployments:", "%s", orNone(strings.Join(v.Deployments, ", ")))
	printSlots(w, s, project.SlotTag, v.Tag)
}

// printSlots prints who holds a limit's slots, for how long, and who is
// in line for one.
func printSlots(w describe.PrefixWriter, s *client.Snapshot, kind, name string) {
	if hs := s.Holders(kind, name); tableSection(w, 0, "Holders", "Run\tSince\tHeld For", len(hs)) {
		for _, h := range hs {
			w.Write(1, "%s\t%s\t%s\n", h.Run, timeCell(h.Since), h.Age)
		}
	}
	inLine := s.InLine(kind + " " + name)
	if !tableSection(w, 0, "In Line", "Position\tRun\tDeployment\tState\tAge", len(inLine)) {
		return
	}
	for _, r := range inLine {
		w.Write(1, "%d\t%s\t%s\t%s\t%s\n", r.Position, r.Name, r.Deployment, r.State, r.Age)
	}
}
