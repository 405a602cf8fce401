package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/sink"
)

// failing is a Memory sink (an Applier) whose writes of one subject fail for good.
type failing struct {
	*sink.Memory
	subject string
}

func (f failing) Apply(ctx context.Context, ev hookline.Event) (sink.Result, error) {
	if ev.Subject == f.subject {
		return 0, hookline.Errorf(hookline.Permanent, "test: %s cannot be written", ev.Subject)
	}
	return f.Memory.Apply(ctx, ev)
}

// ApplyBatch applies each item with f.Apply: a wrapper that changes Apply must not inherit the
// Memory's own ApplyBatch.
func (f failing) ApplyBatch(ctx context.Context, items []sink.Item) []sink.Outcome {
	return sink.ApplyBatch(ctx, struct{ sink.Applier }{f}, items)
}

func (f failing) Write(ctx context.Context, ev hookline.Event) error {
	_, err := f.Apply(ctx, ev)
	return err
}

// After a known mix of deliveries (accepted, forged, duplicate, older, permanently failing),
// GET /metrics on the webhook's port, parsed with Prometheus' own text parser, counts exactly
// what was sent.
func TestPrometheusMetricsCountEveryDelivery(t *testing.T) {
	reg := prometheus.NewRegistry()
	exporter, err := promexporter.New(promexporter.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())
	mem := sink.NewMemory()
	var app *Pipeline
	h := &harness{t: t, secret: stripehook.GenerateSecret(), done: make(chan error, 1), logs: &lockedBuffer{}}
	channelURL := fmt.Sprintf("mem://metrics-test-%d", seq.Add(1))
	cfg := Config{Channel: channelURL, Sink: "discard://", Secrets: []string{h.secret}}
	opts := &Options{
		Sink:          failing{Memory: mem, subject: "cus_broken"},
		MeterProvider: mp,
		Metrics:       promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}
	app, err = Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	serveOpened(t, h, app)

	// Each delivery is processed before the next, so "older" and "duplicate" are what they say.
	settled := int64(0)
	deliver := func(body []byte, secret string, want int) {
		t.Helper()
		status, err := postSigned(context.Background(), http.DefaultClient, h.url, body, stripehook.Sign(body, secret, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if status != want {
			t.Fatalf("delivery answered %d, want %d", status, want)
		}
		if status == http.StatusOK {
			settled++
			waitUntil(t, func() bool { return app.Consumer().Stats().Acked == settled })
		}
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	newer := stripehook.SampleEvent("customer.updated", "cus_a", t0.Add(time.Minute))
	deliver(stripehook.SampleEvent("customer.created", "cus_a", t0), h.secret, 200)      // stored
	deliver(stripehook.SampleEvent("customer.created", "cus_b", t0), h.secret, 200)      // stored
	deliver(newer, h.secret, 200)                                                        // stored
	deliver(newer, h.secret, 200)                                                        // duplicate: ignored
	deliver(stripehook.SampleEvent("customer.updated", "cus_a", t0.Add(30*time.Second)), // older: ignored
		h.secret, 200)
	deliver(stripehook.SampleEvent("customer.created", "cus_broken", t0), h.secret, 200) // dead-lettered
	for range 3 {
		deliver(stripehook.SampleEvent("customer.created", "cus_forged", t0), stripehook.GenerateSecret(), 400) // forged
	}

	metricsURL := strings.TrimSuffix(h.url, "/webhook") + "/metrics"
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics answered %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	dest := strings.TrimPrefix(channelURL, "mem://")
	checks := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"hookline_webhook_deliveries_total", map[string]string{"hookline_outcome": "accepted"}, 6},
		{"hookline_webhook_deliveries_total", map[string]string{"hookline_outcome": "refused", "hookline_reason": "invalid signature"}, 3},
		{"hookline_webhook_deliveries_total", map[string]string{"hookline_outcome": "failed"}, 0},
		{"http_server_request_duration_seconds", map[string]string{"http_request_method": "POST"}, 9},
		{"messaging_client_sent_messages_total", map[string]string{"messaging_destination_name": dest}, 6},
		{"messaging_client_sent_messages_total", map[string]string{"messaging_destination_name": dest + "-deadletter"}, 1},
		{"messaging_client_consumed_messages_total", map[string]string{"messaging_destination_name": dest}, 6},
		{"messaging_process_duration_seconds", map[string]string{"messaging_destination_name": dest}, 6},
		{"hookline_events_total", map[string]string{"hookline_outcome": "stored", "hookline_sink": "custom"}, 3},
		{"hookline_events_total", map[string]string{"hookline_outcome": "ignored"}, 2},
		{"hookline_events_total", map[string]string{"hookline_outcome": "dead_lettered", "error_type": "permanent"}, 1},
		{"hookline_events_total", map[string]string{"hookline_outcome": "returned"}, 0},
		{"hookline_event_lag_seconds", nil, 3},
		{"hookline_backlog", nil, 0},
	}
	for _, c := range checks {
		if got := sumFamily(families[c.family], c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.family, c.labels, got, c.want)
		}
	}
	checkAlertRules(t, families)
	if _, ok := families["hookline_backlog"]; !ok {
		t.Errorf("no hookline_backlog gauge for the in-process channel; families: %v", names(families))
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.HasPrefix(l.GetValue(), "evt_") || strings.HasPrefix(l.GetValue(), "cus_") {
					t.Errorf("%s has label %s=%q: label values must come from small fixed sets", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// checkAlertRules checks the alert rules the README links to against what /metrics serves:
// every metric they name exists, and every label value they match on was seen.
func checkAlertRules(t *testing.T, families map[string]*dto.MetricFamily) {
	t.Helper()
	file, err := os.ReadFile("../docs/prometheus-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules := string(file)
	if !strings.Contains(rules, "alert:") {
		t.Fatal("docs/prometheus-alerts.yaml has no alert rules")
	}
	seen := map[string]bool{} // name=value of every label served
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				seen[l.GetName()+"="+l.GetValue()] = true
			}
		}
	}
	for _, name := range regexp.MustCompile(`hookline_[a-z_]+`).FindAllString(rules, -1) {
		if strings.HasPrefix(name, "hookline_outcome") || strings.HasPrefix(name, "hookline_reason") {
			continue // labels, checked below
		}
		if families[strings.TrimSuffix(name, "_bucket")] == nil {
			t.Errorf("the alert rules use %s, which /metrics does not serve", name)
		}
	}
	for _, m := range regexp.MustCompile(`([a-z_]+)="([^"]*)"`).FindAllStringSubmatch(rules, -1) {
		if !seen[m[1]+"="+m[2]] && m[2] != "failed" { // nothing failed in this mix
			t.Errorf("the alert rules match %s=%q, which /metrics never served", m[1], m[2])
		}
	}
}

// sumFamily adds up the samples of f whose labels include want: a counter's or gauge's value, a
// histogram's count.
func sumFamily(f *dto.MetricFamily, want map[string]string) float64 {
	var sum float64
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func names(m map[string]*dto.MetricFamily) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
