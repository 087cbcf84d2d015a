// Package promcheck reads the queries of the monitoring examples (the
// PrometheusRule's alerts, the Grafana dashboard's panels and variables)
// with Prometheus' own parsers and checks the series they select against
// the series a reconciler exports. The tests use it; the plugin does not,
// so Prometheus' parsers stay out of the binaries.
package promcheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/examples/monitoring"
)

// Query is one PromQL expression and where it comes from.
type Query struct {
	Where string
	Expr  string
}

// Alerts parses the PrometheusRule's groups with promtool's rule parser
// (which also parses every expression and annotation template) and returns
// each alert's expression.
func Alerts() ([]Query, error) {
	var rule struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Metadata   json.RawMessage `json:"metadata"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(monitoring.PrometheusRule, &rule); err != nil {
		return nil, fmt.Errorf("prometheusrule.yaml: %w", err)
	}
	if rule.Kind != "PrometheusRule" {
		return nil, fmt.Errorf("prometheusrule.yaml: kind %q", rule.Kind)
	}
	spec, err := yaml.JSONToYAML(rule.Spec)
	if err != nil {
		return nil, err
	}
	groups, errs := rulefmt.Parse(spec, false)
	if len(errs) > 0 {
		return nil, fmt.Errorf("prometheusrule.yaml: %v", errs)
	}
	var out []Query
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			out = append(out, Query{"alert " + r.Alert, r.Expr})
		}
	}
	return out, nil
}

// grafana substitutes the dashboard's variables as Grafana would.
var grafana = strings.NewReplacer("$__rate_interval", "5m", "$namespace", "flows", "$deployment", "hello/default")

var labelValues = regexp.MustCompile(`^label_values\((.+), *(\w+)\)$`)

// Dashboard reads Grafana's JSON model and returns every query of its
// panels and variables, its variables substituted.
func Dashboard() ([]Query, error) {
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
		return nil, fmt.Errorf("dashboard.json: %w", err)
	}
	if d.UID == "" || len(d.Panels) == 0 {
		return nil, fmt.Errorf("dashboard.json: uid %q, %d panels", d.UID, len(d.Panels))
	}
	var out []Query
	for _, v := range d.Templating.List {
		if v.Definition == "" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			return nil, fmt.Errorf("dashboard.json: variable %s: %q is not label_values(SERIES, LABEL)", v.Name, v.Definition)
		}
		out = append(out, Query{"variable " + v.Name, grafana.Replace(m[1])})
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			return nil, fmt.Errorf("dashboard.json: panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			out = append(out, Query{"panel " + p.Title, grafana.Replace(q.Expr)})
		}
	}
	return out, nil
}

// Series are the series a reconciler exports, by name (a histogram's
// _bucket, _sum and _count apart), with the labels each carries.
type Series map[string][]string

// ScrapeLabels are the labels Prometheus adds to every series it scrapes
// through the PodMonitor.
var ScrapeLabels = []string{"namespace", "pod", "container", "instance", "job", "endpoint"}

// Check parses a query and checks each series it selects against have:
// the name, and the labels it matches on. It returns the names and the
// problems found.
func Check(q Query, have Series) (names []string, problems []string) {
	e, err := parser.ParseExpr(q.Expr)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", q.Where, err)}
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
			problems = append(problems, fmt.Sprintf("%s: the reconciler exports no %s", q.Where, name))
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name != labels.MetricName && !slices.Contains(lbls, m.Name) && !slices.Contains(ScrapeLabels, m.Name) {
				problems = append(problems, fmt.Sprintf("%s: %s has no label %q (it has %v)", q.Where, name, m.Name, lbls))
			}
		}
		return nil
	})
	return names, problems
}
