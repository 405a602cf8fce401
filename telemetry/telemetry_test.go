package telemetry_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hookline/hookline/telemetry"
)

// otelVars are the variables Start and the exporters read; each test starts with all unset.
var otelVars = []string{
	telemetry.EnvTracesExporter, telemetry.EnvMetricsExporter, telemetry.EnvSDKDisabled, telemetry.EnvServiceName,
	telemetry.EnvPrometheusHost, telemetry.EnvPrometheusPort, "OTEL_RESOURCE_ATTRIBUTES", "OTEL_METRICS_PRODUCERS",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
	telemetry.EnvGoCloud,
}

// setenv clears the OTEL variables, sets kv (name, value, ...), and puts the global providers
// back after the test.
func setenv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range otelVars {
		t.Setenv(k, "")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
	tp, mp, prop := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(tp)
		otel.SetMeterProvider(mp)
		otel.SetTextMapPropagator(prop)
	})
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func start(t *testing.T, opts *telemetry.Options) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tel
}

type handler struct{}

func (*handler) ServeHTTP(http.ResponseWriter, *http.Request) {}

func TestNothingSetInstallsNothing(t *testing.T) {
	for name, kv := range map[string][]string{
		"unset":    nil,
		"none":     {telemetry.EnvTracesExporter, "none", telemetry.EnvMetricsExporter, "none"},
		"disabled": {telemetry.EnvSDKDisabled, "TRUE", telemetry.EnvTracesExporter, "console", telemetry.EnvMetricsExporter, "prometheus"},
	} {
		t.Run(name, func(t *testing.T) {
			port := freePort(t)
			setenv(t, append(kv, telemetry.EnvPrometheusHost, "127.0.0.1", telemetry.EnvPrometheusPort, port)...)
			tp, mp, prop := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
			tel := start(t, &telemetry.Options{ServiceName: "nothing"})
			if otel.GetTracerProvider() != tp || otel.GetMeterProvider() != mp || otel.GetTextMapPropagator() != prop {
				t.Errorf("Start replaced a global: tracer %T, meter %T, propagator %T",
					otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator())
			}
			if h := tel.MetricsHandler(); h != nil {
				t.Errorf("MetricsHandler() = %T, want nil", h)
			}
			h := &handler{}
			if got := tel.FlushAfter(h); got != http.Handler(h) {
				t.Errorf("FlushAfter wrapped the handler (%T) though nothing is exported", got)
			}
			if listening("127.0.0.1:" + port) {
				t.Errorf("something listens on the Prometheus port %s", port)
			}
			if err := tel.Flush(context.Background()); err != nil {
				t.Errorf("Flush: %v", err)
			}
		})
	}
}

func TestNilTelemetryDoesNothing(t *testing.T) {
	var tel *telemetry.Telemetry
	if tel.MetricsHandler() != nil || tel.Flush(context.Background()) != nil || tel.Shutdown(context.Background()) != nil {
		t.Error("a nil *Telemetry did something")
	}
	h := &handler{}
	if tel.FlushAfter(h) != http.Handler(h) {
		t.Error("a nil *Telemetry wrapped the handler")
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for _, c := range []struct {
		kv   []string
		want []string
	}{
		{[]string{telemetry.EnvTracesExporter, "jaeger"}, []string{`OTEL_TRACES_EXPORTER="jaeger"`, "otlp, console or none"}},
		{[]string{telemetry.EnvTracesExporter, "prometheus"}, []string{`OTEL_TRACES_EXPORTER="prometheus"`, "otlp, console or none"}},
		{[]string{telemetry.EnvMetricsExporter, "otlp,prometheus"}, []string{`OTEL_METRICS_EXPORTER="otlp,prometheus"`, "otlp, prometheus, console or none", "one exporter per signal"}},
		{[]string{telemetry.EnvMetricsExporter, "Prometheus"}, []string{`OTEL_METRICS_EXPORTER="Prometheus"`}},
		{[]string{telemetry.EnvTracesExporter, "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL", "udp"}, []string{"OTEL_TRACES_EXPORTER=otlp", "grpc", "http/protobuf"}},
	} {
		t.Run(strings.Join(c.kv, "="), func(t *testing.T) {
			setenv(t, c.kv...)
			tp := otel.GetTracerProvider()
			tel, err := telemetry.Start(context.Background(), nil)
			if err == nil {
				tel.Shutdown(context.Background())
				t.Fatal("Start accepted it")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if otel.GetTracerProvider() != tp {
				t.Error("a failed Start replaced the global tracer provider")
			}
		})
	}
}

// scrape parses Prometheus text with Prometheus' own parser.
func scrape(t *testing.T, r io.Reader) map[string]*familyView {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("not Prometheus text: %v", err)
	}
	out := map[string]*familyView{}
	for name, f := range fams {
		v := &familyView{}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v.labels = append(v.labels, labels)
			v.values = append(v.values, m.GetCounter().GetValue()+m.GetGauge().GetValue())
		}
		out[name] = v
	}
	return out
}

type familyView struct {
	labels []map[string]string
	values []float64
}

// value returns the value of the series with the label k=v.
func (f *familyView) value(k, v string) (float64, bool) {
	for i, l := range f.labels {
		if l[k] == v {
			return f.values[i], true
		}
	}
	return 0, false
}

func TestPrometheusServesTheGlobalMeterProvider(t *testing.T) {
	port := freePort(t)
	addr := "127.0.0.1:" + port
	setenv(t, telemetry.EnvMetricsExporter, "prometheus", telemetry.EnvPrometheusHost, "127.0.0.1", telemetry.EnvPrometheusPort, port,
		"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	tel, err := telemetry.Start(context.Background(), &telemetry.Options{ServiceName: "hookline-test"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := otel.GetMeterProvider().Meter("telemetry_test").Int64Counter("hookline.test.deliveries")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 3, metric.WithAttributes(attribute.String("outcome", "accepted")))
	c.Add(context.Background(), 1, metric.WithAttributes(attribute.String("outcome", "refused")))

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics on the Prometheus port: %v", err)
	}
	fromPort := scrape(t, resp.Body)
	resp.Body.Close()
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	fromHandler := scrape(t, rec.Body)

	for where, fams := range map[string]map[string]*familyView{"port " + port: fromPort, "MetricsHandler": fromHandler} {
		f := fams["hookline_test_deliveries_total"]
		if f == nil {
			t.Errorf("%s: no hookline_test_deliveries_total among %d families", where, len(fams))
			continue
		}
		for outcome, want := range map[string]float64{"accepted": 3, "refused": 1} {
			if got, ok := f.value("outcome", outcome); !ok || got != want {
				t.Errorf("%s: outcome=%s: %v (found %v), want %v", where, outcome, got, ok, want)
			}
		}
		if info := fams["target_info"]; info == nil {
			t.Errorf("%s: no target_info", where)
		} else if _, ok := info.value("service_name", "hookline-test"); !ok {
			t.Errorf("%s: target_info %v has not service_name=hookline-test", where, info.labels)
		} else if _, ok := info.value("deployment_environment_name", "test"); !ok {
			t.Errorf("%s: target_info %v misses OTEL_RESOURCE_ATTRIBUTES", where, info.labels)
		}
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if listening(addr) {
		t.Error("the Prometheus port is still open after Shutdown")
	}
}

func TestPrometheusPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	setenv(t, telemetry.EnvMetricsExporter, "prometheus", telemetry.EnvPrometheusHost, "127.0.0.1", telemetry.EnvPrometheusPort, port)
	mp := otel.GetMeterProvider()
	tel, err := telemetry.Start(context.Background(), nil)
	if err == nil {
		tel.Shutdown(context.Background())
		t.Fatal("Start succeeded on a port in use")
	}
	for _, w := range []string{"OTEL_METRICS_EXPORTER=prometheus", port, "OTEL_EXPORTER_PROMETHEUS_PORT"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if otel.GetMeterProvider() != mp {
		t.Error("a failed Start replaced the global meter provider")
	}
}

// otlpReceiver is an OTLP/HTTP endpoint that records the paths and bodies it receives.
func otlpReceiver(t *testing.T) (url string, got func() map[string][]byte) {
	bodies := make(chan [2]string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			t.Errorf("%s: Content-Type %q", r.URL.Path, ct)
		}
		bodies <- [2]string{r.URL.Path, string(b)}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() map[string][]byte {
		m := map[string][]byte{}
		for {
			select {
			case b := <-bodies:
				m[b[0]] = append(m[b[0]], b[1]...)
			default:
				return m
			}
		}
	}
}

func TestOTLPFlushSendsSpansAndMetrics(t *testing.T) {
	url, received := otlpReceiver(t)
	setenv(t, telemetry.EnvTracesExporter, "otlp", telemetry.EnvMetricsExporter, "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT", url, telemetry.EnvServiceName, "from-env")
	tel := start(t, &telemetry.Options{ServiceName: "from-options"})
	if tel.MetricsHandler() != nil {
		t.Error("MetricsHandler is not nil without prometheus")
	}
	_, span := otel.Tracer("telemetry_test").Start(context.Background(), "flushed-span")
	span.End()
	c, _ := otel.GetMeterProvider().Meter("telemetry_test").Int64Counter("hookline.test.flushed")
	c.Add(context.Background(), 1)
	if got := received(); len(got) != 0 {
		t.Fatalf("sent before Flush: %v", got)
	}
	if err := tel.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := received()
	for path, want := range map[string]string{"/v1/traces": "flushed-span", "/v1/metrics": "hookline.test.flushed"} {
		if !bytes.Contains(got[path], []byte(want)) {
			t.Errorf("%s: %d bytes without %q", path, len(got[path]), want)
		}
		if !bytes.Contains(got[path], []byte("from-env")) || bytes.Contains(got[path], []byte("from-options")) {
			t.Errorf("%s: service.name is not OTEL_SERVICE_NAME's", path)
		}
	}
}

func TestFlushAfterFlushesEachRequest(t *testing.T) {
	url, received := otlpReceiver(t)
	setenv(t, telemetry.EnvTracesExporter, "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT", url)
	tel := start(t, nil)
	h := tel.FlushAfter(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, span := otel.Tracer("telemetry_test").Start(r.Context(), "in-the-handler")
		span.End()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client went away: the flush still happens
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/webhook", nil).WithContext(ctx))
	got := received()
	if !bytes.Contains(got["/v1/traces"], []byte("in-the-handler")) {
		t.Errorf("the span was not sent when the handler returned: %v", got)
	}
	if !bytes.Contains(got["/v1/traces"], []byte(telemetry.DefaultServiceName)) {
		t.Errorf("service.name is not %s", telemetry.DefaultServiceName)
	}
}

// TestConsoleTracesGoToStdout runs itself in a child process with OTEL_TRACES_EXPORTER=console
// (the console exporter writes to the process's standard output, whatever os.Stdout is later).
func TestConsoleTracesGoToStdout(t *testing.T) {
	if os.Getenv("TELEMETRY_TEST_CHILD") == "console" {
		tel, err := telemetry.Start(context.Background(), &telemetry.Options{ServiceName: "console-test"})
		if err != nil {
			t.Fatal(err)
		}
		_, span := otel.Tracer("telemetry_test").Start(context.Background(), "console-span")
		span.End()
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		return
	}
	setenv(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestConsoleTracesGoToStdout$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TELEMETRY_TEST_CHILD=console", telemetry.EnvTracesExporter+"=console")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s%s", err, out, stderr.Bytes())
	}
	var spans []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s struct {
			Name     string
			Resource []struct {
				Key   string
				Value struct{ Value any }
			}
		}
		if json.Unmarshal(sc.Bytes(), &s) != nil {
			continue
		}
		service := ""
		for _, a := range s.Resource {
			if a.Key == "service.name" {
				service = fmt.Sprint(a.Value.Value)
			}
		}
		spans = append(spans, s.Name+"@"+service)
	}
	if len(spans) != 1 || spans[0] != "console-span@console-test" {
		t.Errorf("spans on stdout: %q, want [console-span@console-test]\n%s", spans, out)
	}
}

// A reader given in Options gets the metrics recorded through the global provider, with no
// OTEL_* variable set, and alongside an exporter when one is.
func TestMetricReadersCollect(t *testing.T) {
	for name, kv := range map[string][]string{
		"alone":          nil,
		"with an export": {telemetry.EnvMetricsExporter, "console"},
	} {
		t.Run(name, func(t *testing.T) {
			setenv(t, kv...)
			reader := sdkmetric.NewManualReader()
			start(t, &telemetry.Options{MetricReaders: []sdkmetric.Reader{reader}})
			c, err := otel.GetMeterProvider().Meter("test").Int64Counter("hookline.test")
			if err != nil {
				t.Fatal(err)
			}
			c.Add(context.Background(), 3)
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			var got int64
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "hookline.test" {
						for _, p := range sum.DataPoints {
							got += p.Value
						}
					}
				}
			}
			if got != 3 {
				t.Errorf("the reader collected %d, want 3", got)
			}
		})
	}
}

// ViewsWithoutExporter shape what the readers get when no exporter is configured, and are left
// out when one is (it exports every instrument).
func TestViewsWithoutExporter(t *testing.T) {
	drop := sdkmetric.NewView(sdkmetric.Instrument{Name: "dropped"}, sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})
	for name, tc := range map[string]struct {
		kv      []string
		dropped bool
	}{
		"no exporter": {nil, true},
		"exporter":    {[]string{telemetry.EnvMetricsExporter, "console"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			setenv(t, tc.kv...)
			reader := sdkmetric.NewManualReader()
			start(t, &telemetry.Options{MetricReaders: []sdkmetric.Reader{reader}, ViewsWithoutExporter: []sdkmetric.View{drop}})
			c, err := otel.GetMeterProvider().Meter("test").Int64Counter("dropped")
			if err != nil {
				t.Fatal(err)
			}
			if c.Enabled(context.Background()) == tc.dropped {
				t.Errorf("the counter is enabled: %v, want %v", c.Enabled(context.Background()), !tc.dropped)
			}
		})
	}
}
