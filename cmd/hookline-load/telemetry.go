package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/telemetry"
)

// observed is how a pipeline run is traced and measured: through the global providers, as a
// program that calls telemetry.Start is.
type observed struct {
	shutdown func()
	name     string // "telemetry", "console" or "plain", the profile label of the run

	console pipeline.Console     // the operator console, when on
	meter   metric.MeterProvider // the pipeline's, when not the global one
	report  func(io.Writer)      // prints what the run's variant measured itself, if anything
}

// telemetryOff leaves OpenTelemetry's no-op providers in place, as a program that sets no OTEL_*
// variable does.
func telemetryOff() observed {
	otel.SetTracerProvider(tracenoop.NewTracerProvider())
	otel.SetMeterProvider(metricnoop.NewMeterProvider())
	return observed{shutdown: func() {}, name: "plain"}
}

// telemetryOn installs, as telemetry.Start would for exporters that drop everything, an SDK
// tracer provider that samples every span and batches it to an exporter that drops it, and an
// SDK meter provider whose periodic reader exports to one that drops the data: all the work of
// tracing and metrics but the network. Like Start, it leaves gocloud's own per-call telemetry
// out unless HOOKLINE_OTEL_GOCLOUD=true.
// traces and metrics say which of the two are turned on.
func telemetryOn(traces, metrics bool) observed {
	telemetryOff()
	var tp *sdktrace.TracerProvider
	var mp *sdkmetric.MeterProvider
	if traces {
		tp = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(dropSpans{}))
		telemetry.Install(tp, nil)
	}
	if metrics {
		mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(dropMetrics{})))
		telemetry.Install(nil, mp)
	}
	return observed{name: "telemetry", shutdown: func() {
		if tp != nil {
			tp.Shutdown(context.Background())
		}
		if mp != nil {
			mp.Shutdown(context.Background())
		}
		telemetryOff()
	}}
}

// dropSpans is a span exporter that drops what it is given.
type dropSpans struct{}

func (dropSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (dropSpans) Shutdown(context.Context) error                             { return nil }

// dropMetrics is a metric exporter that drops what it is given.
type dropMetrics struct{}

func (dropMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (dropMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (dropMetrics) Export(context.Context, *metricdata.ResourceMetrics) error { return nil }
func (dropMetrics) ForceFlush(context.Context) error                          { return nil }
func (dropMetrics) Shutdown(context.Context) error                            { return nil }

// consoleOn gives the pipeline an operator console, as `hookline serve` does with
// HOOKLINE_CONSOLE_TOKEN and no metrics exporter: the console, told of every event, and an SDK
// meter provider whose only reader is the console's, recording only what its Overview reads. Its report gives the number of events
// the console holds and the heap after a collection, which must stay bounded however long the
// run.
func consoleOn() observed {
	telemetryOff()
	con, err := console.New(console.Options{Token: "hookline-load-console-token"})
	if err != nil {
		panic(err) // the token above is valid
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(con.MetricReader()), sdkmetric.WithView(con.MetricViews()...))
	return observed{name: "console", console: con, meter: mp,
		shutdown: func() { mp.Shutdown(context.Background()) },
		report: func(w io.Writer) {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(w, "  console: %d recent events held (at most %d); heap in use after GC %.0f MB\n",
				con.RecentEvents(), console.DefaultRecent, float64(ms.HeapInuse)/(1<<20))
		}}
}
