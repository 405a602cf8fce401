package telemetry

import (
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// EnvGoCloud, set to true, keeps the spans and metrics that gocloud.dev records of its own
// broker calls (see the package documentation, # gocloud's own telemetry).
const EnvGoCloud = "HOOKLINE_OTEL_GOCLOUD"

// mutedScope is the instrumentation scope prefix whose telemetry Install leaves out.
const mutedScope = "gocloud.dev/"

// Install sets tp and mp as the OpenTelemetry global providers, the way [Start] does: with the
// W3C trace-context and baggage propagator, and with gocloud.dev's own per-call spans and metrics
// left out unless HOOKLINE_OTEL_GOCLOUD=true. A nil provider leaves that global unchanged. Use
// it instead of Start to install providers of your own (another sampler, another exporter).
func Install(tp trace.TracerProvider, mp metric.MeterProvider) {
	keep := strings.EqualFold(strings.TrimSpace(os.Getenv(EnvGoCloud)), "true")
	if tp != nil {
		if !keep {
			tp = mutedTracers{TracerProvider: tp}
		}
		otel.SetTracerProvider(tp)
	}
	if mp != nil {
		if !keep {
			mp = mutedMeters{MeterProvider: mp}
		}
		otel.SetMeterProvider(mp)
	}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
}

// mutedTracers gives a no-op tracer to gocloud.dev's scopes and the wrapped provider's to
// everyone else.
type mutedTracers struct {
	trace.TracerProvider
}

func (p mutedTracers) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	if strings.HasPrefix(name, mutedScope) {
		return tracenoop.NewTracerProvider().Tracer(name)
	}
	return p.TracerProvider.Tracer(name, opts...)
}

// mutedMeters gives a no-op meter to gocloud.dev's scopes and the wrapped provider's to
// everyone else.
type mutedMeters struct {
	metric.MeterProvider
}

func (p mutedMeters) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	if strings.HasPrefix(name, mutedScope) {
		return metricnoop.NewMeterProvider().Meter(name)
	}
	return p.MeterProvider.Meter(name, opts...)
}
