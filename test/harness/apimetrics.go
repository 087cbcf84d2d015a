package harness

import (
	"bytes"
	"context"
	"fmt"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// APIServerMetrics is the kube-apiserver's /metrics, parsed, by family
// name.
func (cp *ControlPlane) APIServerMetrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	raw, err := cp.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the kube-apiserver's metrics: %w", err)
	}
	return parseMetrics(raw)
}

// parseMetrics parses metrics in the Prometheus text format.
func parseMetrics(raw []byte) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(bytes.NewReader(raw))
}
