package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// BenchmarkSampledSpan measures what the OpenTelemetry SDK spends on one sampled span, as Start
// configures it (a batch span processor; here into an exporter that drops everything): bare, and
// with five attributes, as hookline's send and process spans have. BENCHMARKS.md uses it to
// explain what tracing every event costs.
func BenchmarkSampledSpan(b *testing.B) {
	attrs := []attribute.KeyValue{attribute.String("messaging.system", "rabbitmq"),
		attribute.String("messaging.destination.name", "stripe-events"), attribute.String("messaging.operation.type", "send"),
		attribute.String("messaging.operation.name", "send"), attribute.String("messaging.message.id", "evt_1NgKs8ExampleExample")}
	for _, bc := range []struct {
		name  string
		attrs []attribute.KeyValue
	}{{"bare", nil}, {"five-attributes", attrs}} {
		b.Run(bc.name, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
				sdktrace.WithBatcher(tracetest.NewNoopExporter()))
			defer tp.Shutdown(context.Background())
			tr := tp.Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, span := tr.Start(ctx, "send stripe-events", trace.WithSpanKind(trace.SpanKindProducer))
				if bc.attrs != nil {
					span.SetAttributes(bc.attrs...)
				}
				span.End()
			}
		})
	}
}
