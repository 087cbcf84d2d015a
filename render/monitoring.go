package render

import (
	"path"

	"github.com/kubectl-flows/kubectl-flows/examples/monitoring"
	"github.com/kubectl-flows/kubectl-flows/internal/yamlcodec"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// MonitoringDir is where `render --monitoring` writes the Grafana
// dashboard (a ConfigMap Grafana's dashboard sidecar loads), the
// PrometheusRule and the PodMonitor, with a kustomization of their own:
// the top-level kustomization.yaml leaves them out, since the last two
// need the Prometheus Operator's CRDs, which a cluster may not have.
const MonitoringDir = "monitoring"

// GrafanaDashboardLabel marks a ConfigMap for Grafana's dashboard sidecar.
const GrafanaDashboardLabel = "grafana_dashboard"

// monitoringFiles renders MonitoringDir from the shipped examples.
func monitoringFiles(p *project.Project) (map[string][]byte, error) {
	dashboard, _, err := encodeFile(false, configMap(p, "flows-grafana-dashboard", map[string]string{GrafanaDashboardLabel: "1"},
		map[string]string{"kubectl-flows.json": string(monitoring.Dashboard)}))
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"flows-grafana-dashboard.yaml": dashboard,
		"flows-prometheusrule.yaml":    append([]byte(Header), monitoring.PrometheusRule...),
		"flows-podmonitor.yaml":        append([]byte(Header), monitoring.PodMonitor...),
	}
	k, err := yamlcodec.Marshal(map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"namespace":  p.Namespace,
		"resources":  []string{"flows-grafana-dashboard.yaml", "flows-podmonitor.yaml", "flows-prometheusrule.yaml"},
	})
	if err != nil {
		return nil, err
	}
	files["kustomization.yaml"] = append([]byte(Header), k...)
	out := make(map[string][]byte, len(files))
	for name, b := range files {
		out[path.Join(MonitoringDir, name)] = b
	}
	return out, nil
}
