package monitoring_test

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubectl-flows/kubectl-flows/examples/monitoring/promcheck"
	"github.com/kubectl-flows/kubectl-flows/reconciler"
)

// exported lists the series of every collector reconciler.NewMetrics
// registers, from the collectors themselves: a vector with no child yet
// has no sample to gather, but it describes itself.
func exported(t *testing.T) promcheck.Series {
	t.Helper()
	rec := &recorder{Registry: prometheus.NewRegistry()}
	reconciler.NewMetrics(rec)
	out := promcheck.Series{}
	descRE := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	for _, c := range rec.collectors {
		ch := make(chan *prometheus.Desc, 16)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			m := descRE.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read %s", d)
			}
			name, lbls := m[1], strings.Split(m[2], ",")
			if m[2] == "" {
				lbls = nil
			}
			switch c.(type) {
			case prometheus.ObserverVec, prometheus.Observer: // histograms
				out[name+"_bucket"] = append(slices.Clone(lbls), "le")
				out[name+"_sum"], out[name+"_count"] = lbls, lbls
			default:
				out[name] = lbls
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("the reconciler registers no metric")
	}
	return out
}

// recorder keeps the collectors registered with it.
type recorder struct {
	*prometheus.Registry
	collectors []prometheus.Collector
}

func (r *recorder) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return r.Registry.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// checkAll checks queries against the series the reconciler registers.
func checkAll(t *testing.T, queries []promcheck.Query) []string {
	t.Helper()
	have := exported(t)
	var used []string
	for _, q := range queries {
		names, problems := promcheck.Check(q, have)
		for _, p := range problems {
			t.Errorf("%s\n%s", p, q.Expr)
		}
		used = append(used, names...)
	}
	sort.Strings(used)
	return slices.Compact(used)
}

// TestPrometheusRule: the rule groups load with promtool's parser, and
// every series an alert selects is one the reconciler exports, with the
// labels it matches on.
func TestPrometheusRule(t *testing.T) {
	alerts, err := promcheck.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, a := range alerts {
		have[strings.TrimPrefix(a.Where, "alert ")] = true
	}
	for _, want := range []string{"FlowsRunsFailing", "FlowsRunsLate", "FlowsQueueStalled", "FlowsNoLeader"} {
		if !have[want] {
			t.Errorf("no alert %s", want)
		}
	}
	t.Logf("%d alerts; series used: %v", len(alerts), checkAll(t, alerts))
}

// TestDashboard: every query of the dashboard's panels and variables
// parses and selects series the reconciler exports.
func TestDashboard(t *testing.T) {
	queries, err := promcheck.Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d queries; series used: %v", len(queries), checkAll(t, queries))
}

// TestCheckCatchesRenames: a series the reconciler does not export, or a
// label it does not carry, fails the check (so a renamed metric fails the
// tests above).
func TestCheckCatchesRenames(t *testing.T) {
	have := exported(t)
	for expr, ok := range map[string]bool{
		`flows_runs_failed_total`:                                           false,
		`flows_run_wait_seconds{queue="p/q"}`:                               false,
		`rate(flows_runs_finished_total{flow="x"}[5m])`:                     false,
		`flows_run_wait_seconds_bucket{queue="p/q", le="1", namespace="x"}`: true,
		`sum by (namespace) (flows_leader)`:                                 true,
	} {
		if _, problems := promcheck.Check(promcheck.Query{Where: "test", Expr: expr}, have); (len(problems) == 0) != ok {
			t.Errorf("%s: problems %v, want ok=%v", expr, problems, ok)
		}
	}
}
