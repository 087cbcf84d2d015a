package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The method every ratio of the bench follows. The machines it runs on are
// shared and their speed drifts (the same round of 1,000 Jobs took 61–90 s
// within one run), so no figure rests on one round: the sides of a
// comparison take turns, the order reversed every other cycle (A B C, then
// C B A), each round starts only once the machine is idle (or after a
// bounded wait, recorded), a ratio is taken within each cycle, between
// rounds run minutes apart, and the figure is the median of those ratios
// with their range. A figure whose range is wider than its distance from
// the target says "within noise" rather than met or missed.

// idleBusy is the share of all cores, busy over one second, under which the
// machine counts as idle. The control plane at rest takes a few percent.
const idleBusy = 0.25

// idleWait bounds the wait for an idle machine before a round, unless
// BENCH_IDLE_WAIT (a Go duration; 0 to not wait) says otherwise. The round
// then starts anyway and says so.
func idleWait() time.Duration {
	if v := os.Getenv("BENCH_IDLE_WAIT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return time.Minute
}

// idleness is what the check before a round saw over its last second.
type idleness struct {
	busy   float64       // share of all cores busy
	ours   float64       // of which the control plane's processes and the bench's
	load1  float64       // the one-minute load average
	waited time.Duration // how long the round waited for it
	idle   bool          // whether busy fell under idleBusy within the wait
	ok     bool          // whether the check was made at all
}

// cpuTicks reads the machine's busy and total CPU time from /proc/stat.
func cpuTicks() (busy, total float64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, f := range fields[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}

// sampleIdle measures the machine over one second.
func sampleIdle(ctx context.Context) (idleness, error) {
	b0, t0, err := cpuTicks()
	if err != nil {
		return idleness{}, err
	}
	ours0 := cpuByProcess()
	select {
	case <-ctx.Done():
		return idleness{}, ctx.Err()
	case <-time.After(time.Second):
	}
	b1, t1, err := cpuTicks()
	if err != nil {
		return idleness{}, err
	}
	s := idleness{ok: true}
	if t1 > t0 {
		s.busy = (b1 - b0) / (t1 - t0)
	}
	s.ours = min(totalCPU(cpuSince(ours0)).Seconds()/float64(runtime.NumCPU()), s.busy)
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		s.load1, _ = strconv.ParseFloat(strings.Fields(string(l))[0], 64)
	}
	return s, nil
}

// waitIdle samples the machine second by second until it is idle or
// idleWait has passed, and returns the last sample.
func waitIdle(ctx context.Context) (idleness, error) {
	start, limit := time.Now(), idleWait()
	for {
		s, err := sampleIdle(ctx)
		if err != nil {
			return s, err
		}
		s.waited = time.Since(start)
		s.idle = s.busy <= idleBusy
		if s.idle || s.waited >= limit {
			return s, nil
		}
	}
}

func (s idleness) String() string {
	if !s.ok {
		return "not checked"
	}
	state := "idle"
	if !s.idle {
		state = "BUSY"
	}
	return fmt.Sprintf("%s: %.0f%% of %d cores busy (%.0f%% the control plane's), load %.2f, after %s",
		state, 100*s.busy, runtime.NumCPU(), 100*s.ours, s.load1, dur(s.waited))
}

// round is one round of a comparison: which side ran, in which cycle, the
// machine before it, and what it measured.
type round[T any] struct {
	side  string
	cycle int
	idle  idleness
	got   T
}

// The sides' names, by which the figures pick their rounds: the
// throughput part's four (five with BENCH_JOB_CONTENT=1) and the Kueue section's, whose bare Jobs and
// kubectl-flows are rounds of their own.
const (
	sideBaseline   = "baseline"
	sideFloor      = "floor"
	sideWatchFloor = "watch floor"
	// sideWatchFloorJob is the watch floor creating the Job the reconciler
	// creates (BENCH_JOB_CONTENT=1): what the Job's own content costs.
	sideWatchFloorJob = "watch floor, the reconciler's Job"
	sideFlows         = "kubectl-flows"
	sideBare          = "bare Jobs"
	sideKueue         = "Kueue"
)

// side is one side of a comparison. run prepares its round (a namespace,
// the processes it measures), calls settled once it is ready to be timed,
// which waits for an idle machine, and then measures.
type side[T any] struct {
	name string
	run  func(ctx context.Context, settled func() error) (T, error)
}

// freshKwok has each of sides restart kwok just before its round's idle
// check, so that kwok takes in the pods of earlier rounds before the round
// is timed rather than during it (harness.RestartKwok says why). For the
// rounds of bursts, whose pods kwok plays.
func (b *bench) freshKwok(sides []side[burst]) []side[burst] {
	out := make([]side[burst], len(sides))
	for i, s := range sides {
		out[i] = side[burst]{s.name, func(ctx context.Context, settled func() error) (burst, error) {
			return s.run(ctx, func() error {
				if err := b.cp.RestartKwok(ctx); err != nil {
					return err
				}
				return settled()
			})
		}}
	}
	return out
}

// alternate runs every side once per cycle, the order reversed every other
// cycle, and returns the rounds in the order they ran. It prints each round
// under label, unless label is empty.
func alternate[T any](ctx context.Context, label string, cycles int, sides []side[T]) ([]round[T], error) {
	var rounds []round[T]
	for c := range cycles {
		order := slices.Clone(sides)
		if c%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			r := round[T]{side: s.name, cycle: c}
			if label != "" {
				fmt.Printf("%s round %d: %s\n", label, len(rounds)+1, s.name)
			}
			settled := func() error {
				var err error
				r.idle, err = waitIdle(ctx)
				fmt.Printf("  machine %s\n", r.idle)
				return err
			}
			var err error
			if r.got, err = s.run(ctx, settled); err != nil {
				return rounds, fmt.Errorf("round %d (%s): %w", len(rounds)+1, s.name, err)
			}
			rounds = append(rounds, r)
		}
	}
	return rounds, nil
}

// spread is a figure over rounds: their median and range.
type spread struct {
	median, lo, hi float64
	n              int
}

func spreadOf(vs []float64) spread {
	if len(vs) == 0 {
		return spread{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{median: m, lo: s[0], hi: s[len(s)-1], n: len(s)}
}

// values is the spread of value over one side's rounds.
func values[T any](rounds []round[T], side string, value func(T) float64) spread {
	var vs []float64
	for _, r := range rounds {
		if r.side == side {
			vs = append(vs, value(r.got))
		}
	}
	return spreadOf(vs)
}

// byCycle is each cycle's value of each side's round: what the figures
// that pair rounds within a cycle (ratios, leftOver) read.
func byCycle[T any](rounds []round[T], value func(T) float64) map[int]map[string]float64 {
	cycles := map[int]map[string]float64{}
	for _, r := range rounds {
		if cycles[r.cycle] == nil {
			cycles[r.cycle] = map[string]float64{}
		}
		cycles[r.cycle][r.side] = value(r.got)
	}
	return cycles
}

// ratios is the spread, over the cycles, of value(side)/value(base) taken
// within each cycle: the two rounds of a ratio ran next to each other, or
// with the other sides' rounds between them.
func ratios[T any](rounds []round[T], side, base string, value func(T) float64) spread {
	var vs []float64
	for _, v := range byCycle(rounds, value) {
		n, okN := v[side]
		d, okD := v[base]
		if okN && okD && d > 0 {
			vs = append(vs, n/d)
		}
	}
	return spreadOf(vs)
}

// leftOver weighs a target ratio against a floor, cycle by cycle: what
// the target leaves side beyond floor, target·value(base) − value(floor),
// and what side took beyond it, value(side) − value(floor). A cycle that
// lacks one of the three counts for nothing. Whether a target can be met
// once the floor is paid reads from the first; by how much side misses or
// meets it, from the two together.
func leftOver[T any](rounds []round[T], side, floor, base string, target float64, value func(T) float64) (left, took spread) {
	var lefts, tooks []float64
	for _, v := range byCycle(rounds, value) {
		s, okS := v[side]
		f, okF := v[floor]
		b, okB := v[base]
		if okS && okF && okB {
			lefts = append(lefts, target*b-f)
			tooks = append(tooks, s-f)
		}
	}
	return spreadOf(lefts), spreadOf(tooks)
}

// ratio formats a spread of ratios: "1.21 (1.10–1.38)".
func (s spread) ratio() string {
	return s.format(func(v float64) string { return fmt.Sprintf("%.2f", v) })
}

// seconds formats a spread of seconds: "52.1 s (47.4 s–61.7 s)".
func (s spread) seconds() string {
	return s.format(func(v float64) string { return dur(time.Duration(v * float64(time.Second))) })
}

// signedSeconds formats a spread of differences in seconds, each with
// its sign: "+2.7 s (−0.4 s–+3.9 s)".
func (s spread) signedSeconds() string {
	return s.format(func(v float64) string { return signed(v, " s") })
}

func (s spread) format(f func(float64) string) string {
	switch s.n {
	case 0:
		return "none"
	case 1:
		return f(s.median) + " (one round)"
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.median), f(s.lo), f(s.hi))
}

// verdict says whether the spread meets an upper bound: met or missed only
// when the range of the rounds is narrower than the median's distance
// from the target, else within noise, since the median moves that much
// from one run to the next; a range all on one side of the target is
// still told, as the reader would otherwise have to work it out. One
// round has no range: its verdict says so.
func (s spread) verdict(target float64) string {
	if s.n == 0 {
		return "not measured"
	}
	v := metOrMissed(s.median <= target)
	switch {
	case s.n == 1:
		return v + " in one round (no spread)"
	case s.hi-s.lo <= math.Abs(s.median-target):
		return v
	case s.lo > target:
		return "within noise, every cycle over it"
	case s.hi <= target:
		return "within noise, every cycle at or under it"
	}
	return "within noise"
}

// metOrMissed is a target's verdict when there is no spread to weigh.
func metOrMissed(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

// idleNote sums up the machine before the rounds, for a figure's note: the
// busiest it was when a round started, and the rounds that started busy.
func idleNote[T any](rounds []round[T]) string {
	var busy []string
	var most idleness
	checked := 0
	for i, r := range rounds {
		if !r.idle.ok {
			continue
		}
		checked++
		if r.idle.busy >= most.busy {
			most = r.idle
		}
		if !r.idle.idle {
			busy = append(busy, fmt.Sprintf("round %d %.0f%% busy", i+1, 100*r.idle.busy))
		}
	}
	if checked == 0 {
		return "machine not checked before the rounds"
	}
	s := fmt.Sprintf("machine checked before each of %d rounds, busiest %.0f%% (%.0f%% the control plane's)", checked, 100*most.busy, 100*most.ours)
	if len(busy) > 0 {
		s += fmt.Sprintf("; started busy after waiting %s: %s", dur(idleWait()), strings.Join(busy, ", "))
	}
	return s
}
