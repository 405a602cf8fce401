package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
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

// recover starts telemetry from the OTEL_* variables as serve does: with an OTLP trace exporter
// it exports the spans of its sends (and of the in-process consumer) before it exits.
func TestRecoverExportsSpans(t *testing.T) {
	var mu sync.Mutex
	var exports int
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" && len(body) > 0 {
			mu.Lock()
			exports++
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_SDK_DISABLED", "")

	srv := stripeapi.Start(t, nil)
	srv.AddEvent(stripeapi.NewEvent("customer.updated", "cus_otel_1", time.Now().Add(-time.Hour)))
	env := map[string]string{"STRIPE_API_KEY": srv.Key(), "STRIPE_API_BASE": srv.URL(), "HOOKLINE_SINK": "discard://"}
	if out, log, err := runCmd(t, env, "recover", "--since", "2h"); err != nil || !strings.HasPrefix(out, "1 events listed, 1 sent") {
		t.Fatalf("recover: %q, %v\n%s", out, err, log)
	}
	mu.Lock()
	defer mu.Unlock()
	if exports == 0 {
		t.Error("recover exported no spans to OTEL_EXPORTER_OTLP_ENDPOINT")
	}
}

// With OTEL_TRACES_EXPORTER=none and OTEL_METRICS_EXPORTER=none, recover, backfill and
// deadletters run as without telemetry; a bad exporter is said before anything runs.
func TestCommandsRunWithTelemetryOff(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	srv := stripeapi.Start(t, nil)
	srv.AddEvent(stripeapi.NewEvent("customer.updated", "cus_otel_2", time.Now().Add(-time.Hour)))
	srv.AddObject("customers", stripeapi.NewCustomer("cus_otel_3", time.Now().Add(-time.Minute)))
	env := map[string]string{"STRIPE_API_KEY": srv.Key(), "STRIPE_API_BASE": srv.URL(), "HOOKLINE_SINK": "discard://"}
	if out, _, err := runCmd(t, env, "recover", "--since", "2h"); err != nil || !strings.HasPrefix(out, "1 events listed, 1 sent") {
		t.Errorf("recover: %q, %v", out, err)
	}
	if out, _, err := runCmd(t, env, "backfill", "--objects", "customer"); err != nil || !strings.HasPrefix(out, "1 objects listed, 1 sent") {
		t.Errorf("backfill: %q, %v", out, err)
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	for _, args := range [][]string{{"recover", "--since", "2h"}, {"backfill", "--objects", "customer"}, {"deadletters", "list", "--from", "inproc://nothing"}} {
		if _, _, err := runCmd(t, env, args...); err == nil || !strings.Contains(err.Error(), `OTEL_TRACES_EXPORTER="zipkin"`) {
			t.Errorf("%s with OTEL_TRACES_EXPORTER=zipkin: %v", args[0], err)
		}
	}
}
