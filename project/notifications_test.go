package project_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-flows/kubectl-flows/project"
)

const notifying = valid + `    notifications:
      - {name: etl-team, secret: etl-webhook, format: slack, events: [Failed, SLA]}
    sla: {maxDuration: 1h, maxLateness: 10m}
  - flow: quiet
    name: default
    entrypoint: flows/quiet.py:quiet
    pool: k8s
notifications:
  - name: oncall
    secret: flows-webhook
    events: [Failed, Crashed, Rejected, TimedOut, Late]
    lateAfter: 15m
    dashboardURL: https://flows.example.com
`

func TestNotificationsLoad(t *testing.T) {
	l, err := project.Load(write(t, "flows.yaml", notifying), vars)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range l.Deployments {
		d := &l.Deployments[i]
		for _, n := range project.Targets(l.Project, d) {
			got = append(got, d.FullName()+":"+n.Name)
		}
	}
	// The project's targets first, then the deployment's own.
	want := []string{"hello/default:oncall", "hello/default:etl-team", "quiet/default:oncall"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets %v, want %v", got, want)
	}
	if s := project.NotificationSecrets(l.Project); !reflect.DeepEqual(s, []string{"etl-webhook", "flows-webhook"}) {
		t.Errorf("secrets %v", s)
	}
	if sla := l.Deployments[0].SLA; sla == nil || sla.MaxDuration.Duration.String() != "1h0m0s" || sla.MaxLateness.Duration.String() != "10m0s" {
		t.Errorf("sla %+v", sla)
	}
}

func TestNotificationsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"unknown event", "events: [Failed, SLA]", "events: [Failed, Failled]",
			[]string{`flows.yaml:21: deployments[0].notifications[0].events[1]: unknown event "Failled" (known: Failed, Crashed, Rejected, TimedOut, Late, SLA)`}},
		{"event twice", "events: [Failed, SLA]", "events: [Failed, Failed]",
			[]string{"deployments[0].notifications[0].events[1]: Failed listed twice"}},
		{"no events", "events: [Failed, SLA]", "events: []",
			[]string{"deployments[0].notifications[0].events: required: the events to send"}},
		{"Late without lateAfter", "    lateAfter: 15m\n", "",
			[]string{"notifications[0].lateAfter: required with Late in events"}},
		{"lateAfter without Late", "events: [Failed, Crashed, Rejected, TimedOut, Late]", "events: [Failed]",
			[]string{"notifications[0].lateAfter: set, but events does not list Late"}},
		{"no secret", "secret: etl-webhook, ", "",
			[]string{"deployments[0].notifications[0].secret: required: the Secret in the project namespace holding the webhook's url and signing-key"}},
		{"bad secret name", "secret: etl-webhook", "secret: Etl_Webhook",
			[]string{`deployments[0].notifications[0].secret: "Etl_Webhook" is not a Secret's name`}},
		{"bad format", "format: slack", "format: teams",
			[]string{`deployments[0].notifications[0].format: must be json or slack, got "teams"`}},
		{"a deployment's target named as the project's", "name: etl-team", "name: oncall",
			[]string{`deployments[0].notifications[0].name: notification target "oncall" is declared twice`}},
		{"bad dashboard URL", "dashboardURL: https://flows.example.com", "dashboardURL: flows.example.com",
			[]string{`notifications[0].dashboardURL: "flows.example.com" is not an http(s) URL`}},
		{"empty SLA", "sla: {maxDuration: 1h, maxLateness: 10m}", "sla: {}",
			[]string{"deployments[0].sla: set maxDuration, maxLateness or both"}},
		{"negative SLA", "maxLateness: 10m", "maxLateness: -10m",
			[]string{"deployments[0].sla.maxLateness: must be a positive duration"}},
		{"unknown SLA field", "maxLateness: 10m", "maxLatenes: 10m",
			[]string{"flows.yaml:22: deployments[0].sla.maxLatenes: unknown field"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(notifying, tc.from, tc.to, 1)
			if src == notifying {
				t.Fatalf("%q not in the project", tc.from)
			}
			_, err := project.Load(write(t, "flows.yaml", src), vars)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
