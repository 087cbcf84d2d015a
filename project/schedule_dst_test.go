package project_test

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// dstZones have clock changes of every kind: an hour at night (Europe,
// North America), at midnight (Santiago, Asuncion, Havana, Beirut, Cairo,
// Tehran, Sao Paulo until 2019), half an hour (Lord Howe), at :45
// (Chatham), two hours (Troll), "negative" summer time (Dublin), the
// southern hemisphere, and zones that dropped or changed their rules in
// the decade (Tehran, Sao Paulo, Nuuk, Cairo).
var dstZones = []string{
	"Europe/Berlin", "Europe/London", "Europe/Dublin", "America/New_York", "America/Los_Angeles",
	"America/St_Johns", "America/Havana", "America/Santiago", "America/Asuncion", "America/Sao_Paulo",
	"America/Nuuk", "Atlantic/Azores", "Africa/Cairo", "Asia/Beirut", "Asia/Tehran",
	"Australia/Sydney", "Australia/Lord_Howe", "Pacific/Auckland", "Pacific/Chatham", "Antarctica/Troll",
}

// dstSpecs fire inside, at the edges of and around the hours clocks skip
// or repeat.
var dstSpecs = []string{
	"30 2 * * *", "0 * * * *", "*/15 * * * *", "0 0 * * *", "45 23 * * *", "0 1,2,3 * * *", "30 1 * * 0", "*/5 0-3 * * *",
}

// dstYears are the ten years the test covers.
var dstYears = [2]int{2016, 2026}

// transitions lists every clock change of loc in [from, to).
func transitions(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for t := from; t.Before(to); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		out = append(out, end)
		t = end
	}
	return out
}

// matches is the test's own reading of a five-field cron against a
// wall-clock time, from the parsed fields (robfig's own stepping is not
// used: it is what repeats and skips times at clock changes).
func matches(s *cron.SpecSchedule, w time.Time) bool {
	const star = 1 << 63
	bit := func(set uint64, v int) bool { return set&(1<<uint(v)) != 0 }
	if !bit(s.Minute, w.Minute()) || !bit(s.Hour, w.Hour()) || !bit(s.Month, int(w.Month())) {
		return false
	}
	dom, dow := bit(s.Dom, w.Day()), bit(s.Dow, int(w.Weekday()))
	if s.Dom&star != 0 || s.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}

func wallOf(u time.Time, loc *time.Location) time.Time {
	l := u.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
}

// firstReadings sweeps [from, to) minute by minute and gives, for each
// minute the clock reads there (beyond its reading at from), the first
// instant at which the clock reads it or later: its first occurrence, or
// where a jump forward landed. That is the definition, by brute force.
type reading struct{ wall, at time.Time }

func firstReadings(loc *time.Location, from, to time.Time) []reading {
	var out []reading
	high := wallOf(from, loc)
	for u := from.Add(time.Minute); u.Before(to); u = u.Add(time.Minute) {
		w := wallOf(u, loc)
		for m := high.Add(time.Minute); !m.After(w); m = m.Add(time.Minute) {
			out = append(out, reading{m, u})
		}
		if w.After(high) {
			high = w
		}
	}
	return out
}

// TestScheduleDST checks every cron of dstSpecs in every zone of dstZones
// around each clock change of ten years against the brute-force
// definition: the fire times are exactly the first instants at which the
// clock reads each matching time, once each. So no tick is skipped, no
// instant fires twice, and no clock reading fires twice.
func TestScheduleDST(t *testing.T) {
	from := time.Date(dstYears[0], 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(dstYears[1], 1, 1, 0, 0, 0, 0, time.UTC)
	changes := 0
	for _, zone := range dstZones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		ts := transitions(loc, from, to)
		if len(ts) == 0 {
			t.Errorf("%s: no clock change in %d-%d", zone, dstYears[0], dstYears[1]-1)
		}
		changes += len(ts)
		for _, tr := range ts {
			lo, hi := tr.Add(-30*time.Hour), tr.Add(30*time.Hour)
			readings := firstReadings(loc, lo, hi)
			// Fire times are compared over the middle of the window, where
			// the sweep has seen every reading that lands there.
			a, b := tr.Add(-24*time.Hour), tr.Add(24*time.Hour)
			for _, spec := range dstSpecs {
				checkAround(t, zone, spec, loc, readings, a, b)
			}
		}
	}
	t.Logf("%d zones, %d clock changes, %d crons each", len(dstZones), changes, len(dstSpecs))
}

func checkAround(t *testing.T, zone, spec string, loc *time.Location, readings []reading, a, b time.Time) {
	t.Helper()
	parsed, err := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	var want []time.Time
	for _, r := range readings {
		if r.at.After(a) && !r.at.After(b) && matches(parsed.(*cron.SpecSchedule), r.wall) &&
			(len(want) == 0 || !want[len(want)-1].Equal(r.at)) {
			want = append(want, r.at)
		}
	}
	s := v1alpha1.Schedule{Cron: spec, Timezone: zone}
	var got []time.Time
	seenWall := map[time.Time]time.Time{}
	for t0 := a; ; {
		next, err := project.NextFires(s, t0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(next) == 0 || next[0].After(b) {
			break
		}
		if w := wallOf(next[0], loc); !seenWall[w].IsZero() {
			t.Errorf("%s %q: clock reading %s fired twice, at %v and %v", zone, spec, w.Format("2006-01-02 15:04"), seenWall[w], next[0])
		} else {
			seenWall[w] = next[0]
		}
		got = append(got, next[0])
		t0 = next[0]
	}
	if !sameTimes(got, want) {
		t.Errorf("%s %q around %v:\n got %v\nwant %v", zone, spec, a.Add(24*time.Hour), got, want)
	}
}

// TestScheduleDSTDaily walks ten years of a daily cron in every zone with
// an injected clock, as the reconciler's schedule loop does (Due at each
// wake-up, a little late, then sleep until the next fire time): exactly one
// run per local calendar day, never two at one instant.
func TestScheduleDSTDaily(t *testing.T) {
	from := time.Date(dstYears[0], 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(dstYears[1], 1, 1, 0, 0, 0, 0, time.UTC)
	for _, spec := range []string{"30 2 * * *", "0 0 * * *"} {
		for _, zone := range dstZones {
			loc, _ := time.LoadLocation(zone)
			s := v1alpha1.Schedule{Cron: spec, Timezone: zone}
			perDay := map[string]int{}
			var last time.Time
			now := from
			for i := 0; now.Before(to); i++ {
				fire, next, err := project.DueTicks(s, last, from, now)
				if err != nil {
					t.Fatal(err)
				}
				if len(fire) > 1 {
					t.Fatalf("%s %q at %v: %d ticks due at once on time", zone, spec, now, len(fire))
				}
				for _, f := range fire {
					if !f.After(last) {
						t.Fatalf("%s %q: fired %v after %v", zone, spec, f, last)
					}
					perDay[f.In(loc).Format(time.DateOnly)]++
					last = f
				}
				now = next.Add(time.Duration(i%7) * time.Second) // woken a little late
			}
			// Every day strictly inside the ten years (the first and last
			// are cut by time zones) has its one run; none has two.
			for d := from.AddDate(0, 0, 1); d.Before(to.AddDate(0, 0, -1)); d = d.AddDate(0, 0, 1) {
				if day := d.Format(time.DateOnly); perDay[day] != 1 {
					t.Errorf("%s %q: %d runs on %s, want 1", zone, spec, perDay[day], day)
				}
			}
			for day, n := range perDay {
				if n > 1 {
					t.Errorf("%s %q: %d runs on %s, want 1", zone, spec, n, day)
				}
			}
		}
	}
}
