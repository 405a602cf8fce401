package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// serveUntilListening runs serve with env until it logs its webhook URL, and returns the
// webhook's host:port and a function that stops serve and returns its error.
func serveUntilListening(t *testing.T, env map[string]string) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, log syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &out, &log)
	}()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
			return nil
		}
	}
	re := regexp.MustCompile(`webhook=http://([^/ ]+)/webhook`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(log.String()); m != nil {
			return m[1], stop
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped before listening: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("serve did not say where it listens:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With OTEL_METRICS_EXPORTER=prometheus, serve's metrics are served on the Prometheus port and
// on the webhook's own GET /metrics, both with serve's service name; the port closes at exit.
func TestServeExportsPrometheusMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	promAddr := ln.Addr().String()
	ln.Close()
	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
	t.Setenv("OTEL_EXPORTER_PROMETHEUS_PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_SERVICE_NAME", "")
	addr, stop := serveUntilListening(t, map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_telemetry_test"})

	for _, url := range []string{"http://" + promAddr + "/metrics", "http://" + addr + "/metrics"} {
		code, body := get(t, url)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", url, code)
			continue
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Errorf("GET %s: not Prometheus text: %v", url, err)
			continue
		}
		service := ""
		for _, m := range fams["target_info"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service_name" {
					service = l.GetValue()
				}
			}
		}
		if service != "hookline" {
			t.Errorf("GET %s: target_info service_name %q, want hookline", url, service)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if c, err := net.DialTimeout("tcp", promAddr, time.Second); err == nil {
		c.Close()
		t.Error("the Prometheus port is still open after serve returned")
	}
}

// Without OTEL variables, serve has no GET /metrics.
func TestServeWithoutTelemetryHasNoMetrics(t *testing.T) {
	for _, k := range []string{"OTEL_METRICS_EXPORTER", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"} {
		t.Setenv(k, "")
	}
	addr, stop := serveUntilListening(t, map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_telemetry_test"})
	if code, _ := get(t, "http://"+addr+"/metrics"); code == http.StatusOK {
		t.Error("GET /metrics answered 200 with no OTEL variable set")
	}
	if code, _ := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz: %d (the server is not the one tested)", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// A bad exporter is said before anything listens.
func TestServeRefusesABadExporter(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0"},
		func(k string) string { return map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_telemetry_test"}[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `OTEL_TRACES_EXPORTER="zipkin"`) {
		t.Fatalf("serve with OTEL_TRACES_EXPORTER=zipkin: %v", err)
	}
}
