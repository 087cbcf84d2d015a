package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestAlternateReversesEveryOtherCycle(t *testing.T) {
	var order []string
	mk := func(name string) side[int] {
		return side[int]{name, func(context.Context, func() error) (int, error) {
			order = append(order, name)
			return len(order), nil
		}}
	}
	rounds, err := alternate(context.Background(), "", 3, []side[int]{mk("A"), mk("B"), mk("C")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A", "B", "C", "C", "B", "A", "A", "B", "C"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i, r := range rounds {
		if r.side != want[i] || r.cycle != i/3 || r.got != i+1 || r.idle.ok {
			t.Errorf("round %d = %+v, want side %s cycle %d got %d, no idle check (settled not called)", i, r, want[i], i/3, i+1)
		}
	}
}

func TestRatiosPairRoundsWithinACycle(t *testing.T) {
	rounds := []round[float64]{
		{side: "base", cycle: 0, got: 50}, {side: "flows", cycle: 0, got: 60},
		{side: "flows", cycle: 1, got: 90}, {side: "base", cycle: 1, got: 60},
		{side: "base", cycle: 2, got: 40}, {side: "flows", cycle: 2, got: 44},
		{side: "flows", cycle: 3}, // a cycle without its baseline counts for nothing
	}
	got := ratios(rounds, "flows", "base", func(v float64) float64 { return v })
	want := spread{median: 1.2, lo: 1.1, hi: 1.5, n: 3}
	if !near(got, want) {
		t.Fatalf("ratios = %+v, want %+v", got, want)
	}
	if got := values(rounds, "base", func(v float64) float64 { return v }); !near(got, spread{median: 50, lo: 40, hi: 60, n: 3}) {
		t.Fatalf("values = %+v", got)
	}
}

func TestLeftOverWeighsTheTargetWithinACycle(t *testing.T) {
	rounds := []round[float64]{
		{side: "base", cycle: 0, got: 100}, {side: "floor", cycle: 0, got: 110}, {side: "flows", cycle: 0, got: 120},
		{side: "flows", cycle: 1, got: 130}, {side: "floor", cycle: 1, got: 100}, {side: "base", cycle: 1, got: 90},
		{side: "base", cycle: 2, got: 80}, {side: "floor", cycle: 2, got: 95}, {side: "flows", cycle: 2, got: 99},
		{side: "base", cycle: 3, got: 100}, {side: "flows", cycle: 3, got: 500}, // no floor: counts for nothing
	}
	left, took := leftOver(rounds, "flows", "floor", "base", 1.15, func(v float64) float64 { return v })
	// Cycle by cycle, left: 115−110, 103.5−100, 92−95; took: 10, 30, 4.
	if want := (spread{median: 3.5, lo: -3, hi: 5, n: 3}); !near(left, want) {
		t.Errorf("left = %+v, want %+v", left, want)
	}
	if want := (spread{median: 10, lo: 4, hi: 30, n: 3}); !near(took, want) {
		t.Errorf("took = %+v, want %+v", took, want)
	}
	if got := left.signedSeconds(); got != "+3.5 s (−3.0 s–+5.0 s)" {
		t.Errorf("signedSeconds() = %q", got)
	}
}

func near(a, b spread) bool {
	eq := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
	return a.n == b.n && eq(a.median, b.median) && eq(a.lo, b.lo) && eq(a.hi, b.hi)
}

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want spread
	}{
		{nil, spread{}},
		{[]float64{3}, spread{3, 3, 3, 1}},
		{[]float64{4, 1, 3, 2}, spread{2.5, 1, 4, 4}},
		{[]float64{5, 1, 3}, spread{3, 1, 5, 3}},
	} {
		if got := spreadOf(tc.in); !near(got, tc.want) {
			t.Errorf("spreadOf(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		s      spread
		target float64
		want   string
	}{
		{spread{1.10, 1.08, 1.12, 4}, 1.15, "met"},
		{spread{1.30, 1.28, 1.33, 4}, 1.15, "missed"},
		// Every round under the target, but the range (0.14) is wider
		// than the median's distance from it (0.05).
		{spread{1.10, 1.00, 1.14, 4}, 1.15, "within noise, every cycle at or under it"},
		{spread{1.20, 1.10, 1.40, 4}, 1.25, "within noise"},
		// Every cycle over, but the range (0.09) is wider than the
		// median's distance from the target (0.08).
		{spread{1.23, 1.23, 1.32, 4}, 1.15, "within noise, every cycle over it"},
		{spread{1.20, 1.20, 1.20, 1}, 1.25, "met in one round (no spread)"},
		{spread{1.30, 1.30, 1.30, 1}, 1.25, "missed in one round (no spread)"},
		{spread{}, 1.25, "not measured"},
	} {
		if got := tc.s.verdict(tc.target); got != tc.want {
			t.Errorf("%+v.verdict(%v) = %q, want %q", tc.s, tc.target, got, tc.want)
		}
	}
}

func TestSpreadFormats(t *testing.T) {
	if got := (spread{1.214, 1.1, 1.38, 4}).ratio(); got != "1.21 (1.10–1.38)" {
		t.Errorf("ratio() = %q", got)
	}
	if got := (spread{52.1, 47.4, 61.7, 4}).seconds(); got != "52.1 s (47.4 s–61.7 s)" {
		t.Errorf("seconds() = %q", got)
	}
	if got := (spread{0.5, 0.5, 0.5, 1}).seconds(); got != "500 ms (one round)" {
		t.Errorf("seconds() = %q", got)
	}
}

func TestLatencyVerdictWeighsRounds(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		var out []time.Duration
		for _, v := range vs {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	cycle := func(c int, base, flows []time.Duration) []round[burst] {
		return []round[burst]{{side: "baseline", cycle: c, got: burst{lat: base}}, {side: "kubectl-flows", cycle: c, got: burst{lat: flows}}}
	}
	for _, tc := range []struct {
		name   string
		rounds []round[burst]
		want   string
	}{
		{"met in every cycle", slices.Concat(
			cycle(0, ms(100, 100, 100), ms(110, 110, 900)),
			cycle(1, ms(200, 200, 200), ms(210, 210, 800))),
			"p50 ≤1.2× baseline p50: met, by cycle 1.07 (1.05–1.10); p99 ≤1 s: met, by round 850 ms (800 ms–900 ms)"},
		{"missed in every cycle", slices.Concat(
			cycle(0, ms(100, 100, 100), ms(200, 200, 1500)),
			cycle(1, ms(100, 100, 100), ms(210, 210, 1600))),
			"p50 ≤1.2× baseline p50: missed, by cycle 2.05 (2.00–2.10); p99 ≤1 s: missed, by round 1.55 s (1.50 s–1.60 s)"},
		{"one cycle over, one under", slices.Concat(
			cycle(0, ms(100, 100, 100), ms(300, 300, 500)),
			cycle(1, ms(300, 300, 300), ms(150, 150, 1200))),
			"p50 ≤1.2× baseline p50: within noise, by cycle 1.75 (0.50–3.00); p99 ≤1 s: within noise, by round 850 ms (500 ms–1.20 s)"},
		{"beside the floor dispatched by a watch", slices.Concat(
			cycle(0, ms(100, 100, 100), ms(200, 200, 300)),
			[]round[burst]{{side: "watch floor", cycle: 0, got: burst{lat: ms(150, 150, 200)}}}),
			"p50 ≤1.2× baseline p50: missed in one round (no spread), by cycle 2.00 (one round); p99 ≤1 s: met in one round (no spread), by round 300 ms (one round); " +
				"the floor dispatched by a watch beside it, p50 by cycle 1.50 (one round)"},
		{"one round", cycle(0, ms(100), ms(300)),
			"p50 ≤1.2× baseline p50: missed in one round (no spread), by cycle 3.00 (one round); p99 ≤1 s: met in one round (no spread), by round 300 ms (one round)"},
	} {
		if got := latencyVerdict(tc.rounds); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
