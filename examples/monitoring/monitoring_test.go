package monitoring_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/examples/monitoring"
	"github.com/kubectl-flows/kubectl-flows/reconciler"
)

// series is what the reconciler exports: each series name (a histogram's
// _bucket, _sum and _count) and the labels it carries.
type series map[string][]string

// exported lists the series of every collector reconciler.NewMetrics
// registers, from the collectors themselves: a vector with no child yet
// has no sample to gather, but it describes itself.
func exported(t *testing.T) series {
	t.Helper()
	rec := &recorder{Registry: prometheus.NewRegistry()}
	reconciler.NewMetrics(rec)
	out := series{}
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

// scrapeLabels are the labels Prometheus adds to every series it scrapes
// through the PodMonitor.
var scrapeLabels = []string{"namespace", "pod", "container", "instance", "job", "endpoint"}

// checkExpr parses a PromQL expression and checks each series it selects
// against what the reconciler exports: the name, and the labels it
// matches on. It returns the names and the problems found.
func checkExpr(expr string, have series) (names []string, problems []string) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, []string{err.Error()}
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName {
				name = m.Value
			}
		}
		names = append(names, name)
		lbls, ok := have[name]
		if !ok {
			problems = append(problems, "the reconciler exports no "+name)
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name != labels.MetricName && !slices.Contains(lbls, m.Name) && !slices.Contains(scrapeLabels, m.Name) {
				problems = append(problems, fmt.Sprintf("%s has no label %q (it has %v)", name, m.Name, lbls))
			}
		}
		return nil
	})
	return names, problems
}

// check is checkExpr reporting its problems as test errors.
func check(t *testing.T, where, expr string, have series) []string {
	t.Helper()
	names, problems := checkExpr(expr, have)
	for _, p := range problems {
		t.Errorf("%s: %s\n%s", where, p, expr)
	}
	return names
}

// TestPrometheusRule: the rule groups load with promtool's parser, and
// every series an alert selects is one the reconciler exports, with the
// labels it matches on.
func TestPrometheusRule(t *testing.T) {
	have := exported(t)
	var rule struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Metadata   json.RawMessage `json:"metadata"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(monitoring.PrometheusRule, &rule); err != nil {
		t.Fatal(err)
	}
	if rule.Kind != "PrometheusRule" {
		t.Fatalf("kind %q", rule.Kind)
	}
	spec, err := yaml.JSONToYAML(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(spec, false)
	for _, err := range errs {
		t.Errorf("rulefmt: %v", err)
	}
	if groups == nil {
		t.FailNow()
	}
	alerts := map[string]bool{}
	var used []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			used = append(used, check(t, "alert "+r.Alert, r.Expr, have)...)
		}
	}
	for _, want := range []string{"FlowsRunsFailing", "FlowsRunsLate", "FlowsQueueStalled", "FlowsNoLeader"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
	t.Logf("alerts %d; series used: %v", len(alerts), distinct(used))
}

// TestDashboard: the dashboard is Grafana's JSON model, and every query of
// its panels and variables parses and selects series the reconciler
// exports.
func TestDashboard(t *testing.T) {
	have := exported(t)
	var d struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(monitoring.Dashboard, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("uid %q, %d panels", d.UID, len(d.Panels))
	}
	// Grafana's variables, as Grafana would substitute them.
	grafana := strings.NewReplacer("$__rate_interval", "5m", "$namespace", "flows", "$deployment", "hello/default")
	labelValues := regexp.MustCompile(`^label_values\((.+), *(\w+)\)$`)
	var used []string
	for _, v := range d.Templating.List {
		if v.Definition == "" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(SERIES, LABEL)", v.Name, v.Definition)
			continue
		}
		used = append(used, check(t, "variable "+v.Name, grafana.Replace(m[1]), have)...)
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			used = append(used, check(t, "panel "+p.Title, grafana.Replace(q.Expr), have)...)
		}
	}
	t.Logf("panels %d; series used: %v", len(d.Panels), distinct(used))
}

// TestCheckCatchesRenames: a series the reconciler does not export, or a
// label it does not carry, fails the check (so a renamed metric fails the
// tests above).
func TestCheckCatchesRenames(t *testing.T) {
	have := exported(t)
	for _, expr := range []string{
		`flows_runs_failed_total`,
		`flows_run_wait_seconds{queue="p/q"}`,
		`rate(flows_runs_finished_total{flow="x"}[5m])`,
	} {
		if _, problems := checkExpr(expr, have); len(problems) == 0 {
			t.Errorf("%s passed the check", expr)
		}
	}
	for _, expr := range []string{`flows_run_wait_seconds_bucket{queue="p/q", le="1", namespace="x"}`, `flows_leader`} {
		if _, problems := checkExpr(expr, have); len(problems) > 0 {
			t.Errorf("%s failed the check: %v", expr, problems)
		}
	}
}

func distinct(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}
