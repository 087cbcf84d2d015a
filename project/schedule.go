package project

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// cronParser accepts the five-field cron Prefect uses, plus @hourly-style
// descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a schedule's cron in its timezone ("" is UTC).
func ParseCron(spec, timezone string) (cron.Schedule, error) {
	loc, err := loadLocation(timezone)
	if err != nil {
		return nil, err
	}
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, err
	}
	if sp, ok := s.(*cron.SpecSchedule); ok {
		sp.Location = loc
	}
	return s, nil
}

func loadLocation(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(tz)
}

// intervalAnchor is where interval schedules count from, in their time
// zone, so ticks fall on round times (every 1h on the hour).
var intervalAnchor = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Ticks returns a schedule's latest tick at or before now (zero if none
// since from) and its first tick after now.
func Ticks(s v1alpha1.Schedule, from, now time.Time) (prev, next time.Time, err error) {
	if s.Interval != nil {
		loc, err := loadLocation(s.Timezone)
		if err != nil {
			return prev, next, err
		}
		anchor := time.Date(intervalAnchor.Year(), intervalAnchor.Month(), intervalAnchor.Day(), 0, 0, 0, 0, loc)
		iv := s.Interval.Duration
		n := now.Sub(anchor) / iv
		prev = anchor.Add(n * iv)
		next = prev.Add(iv)
		return prev, next, nil
	}
	sched, err := ParseCron(s.Cron, s.Timezone)
	if err != nil {
		return prev, next, err
	}
	// Walk from a little before from up to now; the walk is a tick or two
	// in steady state and bounded after long downtime.
	t := from.Add(-time.Second)
	if limit := now.Add(-31 * 24 * time.Hour); t.Before(limit) {
		t = limit
	}
	for {
		n := sched.Next(t)
		if n.IsZero() {
			return prev, next, nil
		}
		if n.After(now) {
			return prev, n, nil
		}
		prev, t = n, n
	}
}
