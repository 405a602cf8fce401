package telemetry_test

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/telemetry"
)

// Install leaves gocloud's own per-call spans and metrics out, unless HOOKLINE_OTEL_GOCLOUD=true:
// a send and a receive on mem:// record hookline's spans only.
func TestInstallMutesGoCloud(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("%s=%t", telemetry.EnvGoCloud, keep), func(t *testing.T) {
			setenv(t, telemetry.EnvGoCloud, fmt.Sprint(keep))
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			defer tp.Shutdown(context.Background())
			defer mp.Shutdown(context.Background())
			telemetry.Install(tp, mp)

			ctx := context.Background()
			url := fmt.Sprintf("mem://install-test-%t", keep)
			s, err := channel.OpenSender(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := channel.OpenReceiver(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(ctx, hookline.Event{ID: "evt_1", Source: "stripe", Type: "customer.created"}); err != nil {
				t.Fatal(err)
			}
			m, err := r.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m.Ack()
			r.Shutdown(ctx)
			s.Shutdown(ctx)

			scopes := map[string]int{}
			for _, sp := range rec.Ended() {
				scopes[sp.InstrumentationScope().Name]++
			}
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(ctx, &rm); err != nil {
				t.Fatal(err)
			}
			for _, sm := range rm.ScopeMetrics {
				scopes[sm.Scope.Name+" (metrics)"] += len(sm.Metrics)
			}
			if scopes["github.com/hookline/hookline/channel"] != 1 || scopes["github.com/hookline/hookline/channel (metrics)"] == 0 {
				t.Errorf("hookline's send span and metrics missing: %v", scopes)
			}
			gocloud := scopes["gocloud.dev/pubsub"] + scopes["gocloud.dev/pubsub (metrics)"]
			if keep && gocloud == 0 {
				t.Errorf("with %s=true, gocloud's spans and metrics are missing: %v", telemetry.EnvGoCloud, scopes)
			}
			if !keep && gocloud != 0 {
				t.Errorf("gocloud's spans or metrics recorded although muted: %v", scopes)
			}
			if otel.GetTextMapPropagator() == nil || len(otel.GetTextMapPropagator().Fields()) < 2 {
				t.Errorf("propagator fields %v, want traceparent and baggage", otel.GetTextMapPropagator().Fields())
			}
		})
	}
}
