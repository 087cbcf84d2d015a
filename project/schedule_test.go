package project_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

func TestTicks(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name       string
		s          v1alpha1.Schedule
		from, now  string
		prev, next string
	}{
		{"interval on the hour", v1alpha1.Schedule{Interval: &metav1.Duration{Duration: time.Hour}},
			"2026-11-23T09:00:00Z", "2026-11-23T10:20:00Z", "2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z"},
		{"interval exactly on a tick", v1alpha1.Schedule{Interval: &metav1.Duration{Duration: 15 * time.Minute}},
			"2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z", "2026-11-23T10:30:00Z", "2026-11-23T10:45:00Z"},
		{"cron in a time zone", v1alpha1.Schedule{Cron: "0 9 * * *", Timezone: "Europe/London"},
			"2026-11-20T00:00:00Z", "2026-11-23T10:00:00Z", "2026-11-23T09:00:00Z", "2026-11-24T09:00:00Z"},
		{"cron with summer time", v1alpha1.Schedule{Cron: "0 9 * * *", Timezone: "Europe/Berlin"},
			"2026-07-01T00:00:00Z", "2026-07-01T12:00:00Z", "2026-07-01T07:00:00Z", "2026-07-02T07:00:00Z"},
		{"after long downtime only the latest tick", v1alpha1.Schedule{Cron: "*/5 * * * *"},
			"2026-11-01T00:00:00Z", "2026-11-23T10:07:00Z", "2026-11-23T10:05:00Z", "2026-11-23T10:10:00Z"},
		{"no tick since from", v1alpha1.Schedule{Cron: "0 0 1 1 *"},
			"2026-11-23T00:00:00Z", "2026-11-23T10:00:00Z", "", "2027-01-01T00:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prev, next, err := project.Ticks(tc.s, at(tc.from), at(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if tc.prev == "" && !prev.IsZero() || tc.prev != "" && !prev.Equal(at(tc.prev)) {
				t.Errorf("prev = %v, want %s", prev, tc.prev)
			}
			if !next.Equal(at(tc.next)) {
				t.Errorf("next = %v, want %s", next, tc.next)
			}
		})
	}
}
