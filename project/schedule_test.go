package project_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func times(t *testing.T, ss ...string) []time.Time {
	out := []time.Time{}
	for _, s := range ss {
		out = append(out, mustTime(t, s))
	}
	return out
}

func sameTimes(a, b []time.Time) bool { return slices.EqualFunc(a, b, time.Time.Equal) }

func every(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func int32p(n int32) *int32 { return &n }

func TestNextFires(t *testing.T) {
	cases := []struct {
		name  string
		s     v1alpha1.Schedule
		after string
		want  []string
	}{
		{"interval on the hour", v1alpha1.Schedule{Interval: every(time.Hour)},
			"2026-11-23T10:20:00Z", []string{"2026-11-23T11:00:00Z", "2026-11-23T12:00:00Z"}},
		{"interval exactly on a tick", v1alpha1.Schedule{Interval: every(15 * time.Minute)},
			"2026-11-23T10:30:00Z", []string{"2026-11-23T10:45:00Z", "2026-11-23T11:00:00Z"}},
		{"interval before its anchor", v1alpha1.Schedule{Interval: every(7 * time.Minute)},
			"2019-12-31T23:50:00Z", []string{"2019-12-31T23:53:00Z", "2020-01-01T00:00:00Z"}},
		{"interval counts elapsed time across a clock change", v1alpha1.Schedule{Interval: every(time.Hour), Timezone: "Europe/Berlin"},
			"2026-10-25T00:30:00Z", []string{"2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}},
		{"cron in a time zone", v1alpha1.Schedule{Cron: "0 9 * * *", Timezone: "Europe/London"},
			"2026-11-23T10:00:00Z", []string{"2026-11-24T09:00:00Z", "2026-11-25T09:00:00Z"}},
		{"cron with summer time", v1alpha1.Schedule{Cron: "0 9 * * *", Timezone: "Europe/Berlin"},
			"2026-07-01T12:00:00Z", []string{"2026-07-02T07:00:00Z", "2026-07-03T07:00:00Z"}},
		// Berlin's clocks go back at 03:00 CEST on 25 October 2026: 02:30
		// happens at 00:30 and 01:30 UTC and fires at the first.
		{"fall-back: a time that happens twice fires once", v1alpha1.Schedule{Cron: "30 2 * * *", Timezone: "Europe/Berlin"},
			"2026-10-24T12:00:00Z", []string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"fall-back: asked during the repeated hour", v1alpha1.Schedule{Cron: "30 2 * * *", Timezone: "Europe/Berlin"},
			"2026-10-25T01:10:00Z", []string{"2026-10-26T01:30:00Z"}},
		{"fall-back: hourly skips the repeated hour", v1alpha1.Schedule{Cron: "0 * * * *", Timezone: "Europe/Berlin"},
			"2026-10-24T23:30:00Z", []string{"2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}},
		// And jump forward at 02:00 CET on 29 March 2026: 02:30 never
		// happens and fires at 03:00 CEST, the instant the clock jumped.
		{"spring-forward: a skipped time fires at the jump", v1alpha1.Schedule{Cron: "30 2 * * *", Timezone: "Europe/Berlin"},
			"2026-03-28T12:00:00Z", []string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"spring-forward: skipped times and the next fire once", v1alpha1.Schedule{Cron: "*/30 2,3 * * *", Timezone: "Europe/Berlin"},
			"2026-03-29T00:00:00Z", []string{"2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:00:00Z"}},
		{"midnight skipped (Santiago)", v1alpha1.Schedule{Cron: "0 0 * * *", Timezone: "America/Santiago"},
			"2026-09-05T12:00:00Z", []string{"2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := project.NextFires(tc.s, mustTime(t, tc.after), len(tc.want))
			if err != nil {
				t.Fatal(err)
			}
			if want := times(t, tc.want...); !sameTimes(got, want) {
				t.Errorf("NextFires = %v, want %v", got, want)
			}
		})
	}
}

// TestDue is the decision the reconciler takes for a schedule at each pass,
// with each catch-up policy: on time, after downtime, never fired.
func TestDue(t *testing.T) {
	minute := v1alpha1.Schedule{Cron: "* * * * *"}
	with := func(policy string, max *int32) v1alpha1.Schedule {
		s := minute
		s.CatchUp, s.MaxCatchup = policy, max
		return s
	}
	const (
		armed = "2026-11-23T08:00:00Z"
		last  = "2026-11-23T10:00:00Z"
	)
	cases := []struct {
		name            string
		s               v1alpha1.Schedule
		last, now, arm  string
		fire            []string
		next            string
		wantErrContains string
	}{
		{"on time", minute, last, "2026-11-23T10:01:00.2Z", armed,
			[]string{"2026-11-23T10:01:00Z"}, "2026-11-23T10:02:00Z", ""},
		{"nothing due", minute, last, "2026-11-23T10:00:40Z", armed, nil, "2026-11-23T10:01:00Z", ""},
		{"Latest after 10 minutes down", minute, last, "2026-11-23T10:10:30Z", armed,
			[]string{"2026-11-23T10:10:00Z"}, "2026-11-23T10:11:00Z", ""},
		{"None after 10 minutes down", with(v1alpha1.CatchUpNone, nil), last, "2026-11-23T10:10:30Z", armed,
			nil, "2026-11-23T10:11:00Z", ""},
		{"None on time", with(v1alpha1.CatchUpNone, nil), last, "2026-11-23T10:10:10Z", armed,
			[]string{"2026-11-23T10:10:00Z"}, "2026-11-23T10:11:00Z", ""},
		{"All after 10 minutes down, the latest 5", with(v1alpha1.CatchUpAll, int32p(5)), last, "2026-11-23T10:10:30Z", armed,
			[]string{"2026-11-23T10:06:00Z", "2026-11-23T10:07:00Z", "2026-11-23T10:08:00Z", "2026-11-23T10:09:00Z", "2026-11-23T10:10:00Z"}, "2026-11-23T10:11:00Z", ""},
		{"All with fewer missed than its bound", with(v1alpha1.CatchUpAll, int32p(5)), last, "2026-11-23T10:02:30Z", armed,
			[]string{"2026-11-23T10:01:00Z", "2026-11-23T10:02:00Z"}, "2026-11-23T10:03:00Z", ""},
		{"All unbounded takes the default", with(v1alpha1.CatchUpAll, nil), last, "2026-11-23T11:00:30Z", armed,
			[]string{"2026-11-23T10:51:00Z", "2026-11-23T10:52:00Z", "2026-11-23T10:53:00Z", "2026-11-23T10:54:00Z", "2026-11-23T10:55:00Z",
				"2026-11-23T10:56:00Z", "2026-11-23T10:57:00Z", "2026-11-23T10:58:00Z", "2026-11-23T10:59:00Z", "2026-11-23T11:00:00Z"}, "2026-11-23T11:01:00Z", ""},
		{"never fired: ticks before it was armed are not backfilled", with(v1alpha1.CatchUpAll, int32p(5)), "", "2026-11-23T10:02:30Z", "2026-11-23T10:01:30Z",
			[]string{"2026-11-23T10:02:00Z"}, "2026-11-23T10:03:00Z", ""},
		{"never fired, armed on a tick", minute, "", "2026-11-23T10:02:00Z", "2026-11-23T10:02:00Z",
			[]string{"2026-11-23T10:02:00Z"}, "2026-11-23T10:03:00Z", ""},
		{"Latest beyond the horizon fires nothing", v1alpha1.Schedule{Cron: "0 0 1 1 *"}, "2025-01-01T00:00:00Z", "2026-11-23T10:00:00Z", armed,
			nil, "2027-01-01T00:00:00Z", ""},
		{"interval All", v1alpha1.Schedule{Interval: every(2 * time.Minute), CatchUp: v1alpha1.CatchUpAll, MaxCatchup: int32p(3)}, last, "2026-11-23T10:09:00Z", armed,
			[]string{"2026-11-23T10:04:00Z", "2026-11-23T10:06:00Z", "2026-11-23T10:08:00Z"}, "2026-11-23T10:10:00Z", ""},
		{"bad cron", v1alpha1.Schedule{Cron: "61 * * * *"}, last, "2026-11-23T10:09:00Z", armed, nil, "", "above maximum"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var l time.Time
			if tc.last != "" {
				l = mustTime(t, tc.last)
			}
			fire, next, err := project.DueTicks(tc.s, l, mustTime(t, tc.arm), mustTime(t, tc.now))
			if tc.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrContains) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErrContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := times(t, tc.fire...); !sameTimes(fire, want) {
				t.Errorf("fire = %v, want %v", fire, want)
			}
			if !next.Equal(mustTime(t, tc.next)) {
				t.Errorf("next = %v, want %s", next, tc.next)
			}
		})
	}
}

func TestEveryDescriptorRefused(t *testing.T) {
	err := project.ParseCron("@every 5m", "")
	if err == nil || !strings.Contains(err.Error(), "interval") {
		t.Errorf("@every: err = %v, want it to point at interval", err)
	}
	if err := project.ParseCron("@hourly", "Europe/Berlin"); err != nil {
		t.Errorf("@hourly: %v", err)
	}
	if err := project.ParseCron("0 9 * * *", "Mars/Olympus"); err == nil {
		t.Error("an unknown time zone was accepted")
	}
}

func ExampleNextFires() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s := v1alpha1.Schedule{Cron: "30 2 * * *", Timezone: "Europe/Berlin"}
	fires, _ := project.NextFires(s, time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), 2)
	for _, f := range fires {
		fmt.Println(f.In(berlin).Format("2006-01-02 15:04 MST"))
	}
	// Output:
	// 2026-10-25 02:30 CEST
	// 2026-10-26 02:30 CET
}
