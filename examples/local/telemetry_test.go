package main

import (
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hookline/hookline/emitter/stripehook"
)

// With OTEL_METRICS_EXPORTER=prometheus, as the README says, the webhook's deliveries are
// counted on the Prometheus port and on the example's own GET /metrics.
func TestLocalExampleServesPrometheusMetrics(t *testing.T) {
	port, promPort := freePort(t), freePort(t)
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_PORT", promPort)
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	secret := stripehook.GenerateSecret()
	env := map[string]string{"PORT": port, "HOOKLINE_SINK": "discard://", "STRIPE_WEBHOOK_SECRET": secret,
		"HOOKLINE_CHANNEL": "mem://local-metrics"}
	base, out, stop := startLocal(t, env)
	samples := postSamples(t, base, secret, out)

	for _, url := range []string{"http://127.0.0.1:" + promPort + "/metrics", base + "/metrics"} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
		}
		total := 0.0
		for _, m := range fams["hookline_webhook_deliveries_total"].GetMetric() {
			total += m.GetCounter().GetValue()
		}
		if total != float64(len(samples)) {
			t.Errorf("GET %s: hookline_webhook_deliveries_total sums to %v, want the %d deliveries sent", url, total, len(samples))
		}
	}
	stop()
}
