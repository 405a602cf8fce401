package telemetry_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"strings"

	"go.opentelemetry.io/otel"

	"github.com/hookline/hookline/telemetry"
)

// A program calls Start once, at startup, and Shutdown when it exits; it passes
// MetricsHandler to pipeline.Options.Metrics so that the webhook's port serves GET /metrics too.
// Here the environment asks for Prometheus metrics (on a port of the system's choosing).
func ExampleStart() {
	os.Setenv(telemetry.EnvMetricsExporter, "prometheus")
	os.Setenv(telemetry.EnvPrometheusHost, "127.0.0.1")
	os.Setenv(telemetry.EnvPrometheusPort, "0")
	defer func() {
		for _, k := range []string{telemetry.EnvMetricsExporter, telemetry.EnvPrometheusHost, telemetry.EnvPrometheusPort} {
			os.Unsetenv(k)
		}
	}()

	tel, err := telemetry.Start(context.Background(), &telemetry.Options{ServiceName: "stripe-webhook"})
	if err != nil {
		log.Fatal(err)
	}
	defer tel.Shutdown(context.Background())

	// What the library records through the global provider...
	deliveries, _ := otel.GetMeterProvider().Meter("example").Int64Counter("example.deliveries")
	deliveries.Add(context.Background(), 2)

	// ...is served as Prometheus text.
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "example_deliveries_total") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// example_deliveries_total{otel_scope_name="example",otel_scope_schema_url="",otel_scope_version=""} 2
}
