// Package monitoring holds what watches kubectl-flows' reconcilers: a
// Grafana dashboard, a PrometheusRule with its alerts and the PodMonitor
// that scrapes them, for the Prometheus Operator. `kubectl flows render
// --monitoring` writes them into the rendered tree; its test checks that
// every metric they query is one the reconciler exports.
package monitoring

import _ "embed"

// Dashboard is the Grafana dashboard (JSON model).
//
//go:embed dashboard.json
var Dashboard []byte

// PrometheusRule holds the alerts.
//
//go:embed prometheusrule.yaml
var PrometheusRule []byte

// PodMonitor scrapes the reconciler replicas' /metrics.
//
//go:embed podmonitor.yaml
var PodMonitor []byte
