package project

import (
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// CatchUpHorizon is how far back a missed tick is still fired: the walk
// over a cron's ticks after downtime stays bounded.
const CatchUpHorizon = 31 * 24 * time.Hour

// cronParser accepts the five-field cron Prefect uses, plus @hourly-style
// descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// catchUpLimit is how many missed ticks the policy fires at most.
func catchUpLimit(s v1alpha1.Schedule) int {
	if s.CatchUpPolicy() != v1alpha1.CatchUpAll {
		return 1
	}
	return int(s.MaxCatchupOrDefault())
}

// ScheduleParameters are the parameters the runs of the deployment's
// schedule j start with: the schedule's over the deployment's, key by key,
// as the reconciler merges any run's.
func ScheduleParameters(d *v1alpha1.Deployment, j int) map[string]any {
	return MergeParameters(d.Parameters, d.Schedules[j].Parameters)
}

// NextFires returns a schedule's next n fire times after the given time,
// in order. It is the one computation of fire times: the reconciler fires
// what DueTicks (built on the same steps) returns, and every view shows
// these.
func NextFires(s v1alpha1.Schedule, after time.Time, n int) ([]time.Time, error) {
	tk, err := tickerOf(s)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for t := after; len(out) < n; {
		if t = tk.next(t); t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// DueTicks decides which ticks a schedule fires at now: those after last
// (the last tick fired; zero if none) and at or before now, chosen by the
// catch-up policy, oldest first; and its first tick after now. A schedule
// never fired counts only ticks from armed on (when the reconciler first
// saw it), so a new schedule never backfills. Latest fires the latest of
// them; None fires it only while it is on time, within LateAfter of its
// tick; All fires the latest MaxCatchup of them. Ticks older than
// CatchUpHorizon are never fired.
func DueTicks(s v1alpha1.Schedule, last, armed, now time.Time) (fire []time.Time, next time.Time, err error) {
	tk, err := tickerOf(s)
	if err != nil {
		return nil, time.Time{}, err
	}
	after := last
	if after.IsZero() {
		after = armed.Add(-time.Nanosecond)
	}
	if h := now.Add(-CatchUpHorizon); after.Before(h) {
		after = h
	}
	fire = tk.latest(after, now, catchUpLimit(s))
	if len(fire) > 0 && s.CatchUpPolicy() == v1alpha1.CatchUpNone && now.Sub(fire[len(fire)-1]) > LateAfter {
		fire = nil
	}
	return fire, tk.next(now), nil
}

// ticker steps through a schedule's fire times.
type ticker interface {
	// next is the first fire time after t.
	next(t time.Time) time.Time
	// latest is the last n fire times in (after, now], oldest first.
	latest(after, now time.Time, n int) []time.Time
}

func tickerOf(s v1alpha1.Schedule) (ticker, error) {
	loc, err := loadLocation(s.Timezone)
	if err != nil {
		return nil, err
	}
	if s.Interval != nil {
		if s.Interval.Duration <= 0 {
			return nil, fmt.Errorf("interval %s: must be positive", s.Interval.Duration)
		}
		anchor := time.Date(intervalAnchor.Year(), intervalAnchor.Month(), intervalAnchor.Day(), 0, 0, 0, 0, loc)
		return intervalTicker{anchor: anchor, every: s.Interval.Duration}, nil
	}
	spec, err := parseCronSpec(s.Cron)
	if err != nil {
		return nil, err
	}
	return cronTicker{spec: spec, loc: loc}, nil
}

// ParseCron checks a schedule's cron and time zone ("" is UTC).
func ParseCron(spec, timezone string) error {
	if _, err := loadLocation(timezone); err != nil {
		return err
	}
	_, err := parseCronSpec(spec)
	return err
}

// parseCronSpec parses a cron to match wall-clock times: its Location is
// UTC, where no clock ever jumps; cronTicker maps the times it matches
// onto the schedule's time zone.
func parseCronSpec(spec string) (*cron.SpecSchedule, error) {
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, err
	}
	sp, ok := s.(*cron.SpecSchedule)
	if !ok {
		// @every counts from whenever it is asked, so its ticks would
		// drift; an interval counts from a fixed anchor.
		return nil, fmt.Errorf("%s: write it as interval (e.g. interval: 10m), which keeps its ticks on round times", spec)
	}
	sp.Location = time.UTC
	return sp, nil
}

// locations caches loaded time zones: time.LoadLocation reads the zone's
// file each time, and fire times are computed per schedule per pass.
var locations sync.Map // name -> *time.Location

func loadLocation(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	if l, ok := locations.Load(tz); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	locations.Store(tz, l)
	return l, nil
}

// intervalAnchor is where interval schedules count from, in their time
// zone, so ticks fall on round times (every 1h on the hour).
var intervalAnchor = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// intervalTicker fires every `every` of elapsed time from anchor: clock
// changes neither add nor drop a tick.
type intervalTicker struct {
	anchor time.Time
	every  time.Duration
}

// atOrBefore is the last tick at or before t.
func (iv intervalTicker) atOrBefore(t time.Time) time.Time {
	n := t.Sub(iv.anchor) / iv.every
	tick := iv.anchor.Add(n * iv.every)
	if tick.After(t) { // t before the anchor: division rounds toward zero
		tick = tick.Add(-iv.every)
	}
	return tick
}

func (iv intervalTicker) next(t time.Time) time.Time { return iv.atOrBefore(t).Add(iv.every) }

func (iv intervalTicker) latest(after, now time.Time, n int) []time.Time {
	var out []time.Time
	for tick := iv.atOrBefore(now); tick.After(after) && len(out) < n; tick = tick.Add(-iv.every) {
		out = append([]time.Time{tick}, out...)
	}
	return out
}

// cronTicker fires at the wall-clock times a cron matches in loc. Where
// the clock goes back, a wall-clock time that happens twice fires once, at
// its first occurrence; where it jumps forward, a wall-clock time that
// never happens fires at the first instant after the jump. Several such
// times falling on one instant fire once.
type cronTicker struct {
	spec *cron.SpecSchedule
	loc  *time.Location
}

func (c cronTicker) next(t time.Time) time.Time {
	// Every wall-clock time up to the latest the clock has shown by t has
	// fired or been passed; the next fire is the first cron match after it.
	w := c.spec.Next(latestWall(t, c.loc))
	if w.IsZero() {
		return w
	}
	return firstInstantAt(w, c.loc)
}

func (c cronTicker) latest(after, now time.Time, n int) []time.Time {
	var ring []time.Time
	for t := c.next(after); !t.IsZero() && !t.After(now); t = c.next(t) {
		if len(ring) == n {
			ring = ring[1:]
		}
		ring = append(ring, t)
	}
	return ring
}

// wall is the clock reading of t in loc, as a time in UTC (which has no
// clock changes, so cron can match it).
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// maxBackwardShift bounds how far any zone's clock has gone back at once
// (a day, when a zone crossed the date line eastward).
const maxBackwardShift = 48 * time.Hour

// latestWall is the latest clock reading in loc at any instant up to t:
// after the clock goes back it stays the reading just before the change
// until the clock catches up with it.
func latestWall(t time.Time, loc *time.Location) time.Time {
	m := wall(t, loc)
	at := t.In(loc)
	for range 8 {
		start, _ := at.ZoneBounds()
		if start.IsZero() || t.Sub(start) > maxBackwardShift {
			break
		}
		before := start.Add(-time.Nanosecond)
		if w := wall(before, loc); w.After(m) {
			m = w
		}
		at = before.In(loc)
	}
	return m
}

// firstInstantAt is the first instant at which loc's clock reads w or
// later: w's first occurrence, or the end of the jump that skipped it.
func firstInstantAt(w time.Time, loc *time.Location) time.Time {
	// Offsets lie within -12h..+14h, so the clock read less than w a day
	// and more before; walk the zone's periods forward from there.
	u := w.Add(-27 * time.Hour)
	for {
		at := u.In(loc)
		_, off := at.Zone()
		_, end := at.ZoneBounds()
		if !wall(u, loc).Before(w) {
			return u // a jump forward skipped w: u is where it landed
		}
		if cand := w.Add(-time.Duration(off) * time.Second); end.IsZero() || cand.Before(end) {
			return cand
		}
		u = end
	}
}
