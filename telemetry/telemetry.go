package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Environment variables that Start reads itself (the exporters read the others, see the
// package documentation).
const (
	EnvTracesExporter  = "OTEL_TRACES_EXPORTER"
	EnvMetricsExporter = "OTEL_METRICS_EXPORTER"
	EnvSDKDisabled     = "OTEL_SDK_DISABLED"
	EnvServiceName     = "OTEL_SERVICE_NAME"
	EnvPrometheusHost  = "OTEL_EXPORTER_PROMETHEUS_HOST"
	EnvPrometheusPort  = "OTEL_EXPORTER_PROMETHEUS_PORT"
)

// Exporter names, the values of OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER.
const (
	ExporterOTLP       = "otlp"
	ExporterConsole    = "console"
	ExporterPrometheus = "prometheus" // metrics only
	ExporterNone       = "none"
)

// DefaultServiceName is the service.name when neither OTEL_SERVICE_NAME nor
// Options.ServiceName says otherwise.
const DefaultServiceName = "hookline"

// flushTimeout bounds the flush of [Telemetry.FlushAfter].
const flushTimeout = 5 * time.Second

// Options configure [Start]. A nil *Options means the defaults.
type Options struct {
	// ServiceName is the service.name resource attribute unless OTEL_SERVICE_NAME sets one.
	// Default: DefaultServiceName.
	ServiceName string
	// MetricReaders are given to the MeterProvider that Start installs, besides the exporter's:
	// with any, Start installs a MeterProvider even when no OTEL_* variable asks for metrics.
	// The operator console's reader (package console) is one.
	MetricReaders []sdkmetric.Reader
	// ViewsWithoutExporter are applied to the MeterProvider that Start builds for MetricReaders
	// when no OTEL_METRICS_EXPORTER asks for metrics: there they can drop the instruments no
	// reader needs (the console's MetricViews), which then cost nothing to record. With an
	// exporter they are not applied: it exports every instrument.
	ViewsWithoutExporter []sdkmetric.View
}

// Telemetry is what [Start] installed: the SDK providers it set as the OpenTelemetry globals,
// if any. All its methods may be called on a nil *Telemetry, and do nothing then.
type Telemetry struct {
	tracer  *sdktrace.TracerProvider // nil: tracing stays off
	meter   *sdkmetric.MeterProvider // nil: metrics stay off
	metrics http.Handler             // non-nil with OTEL_METRICS_EXPORTER=prometheus
}

// Start reads the process environment (the variables of the package documentation, which
// OpenTelemetry's exporters also read from there) and installs what it asks for as the
// OpenTelemetry globals: an SDK TracerProvider that batches spans to OTEL_TRACES_EXPORTER, an
// SDK MeterProvider that reads metrics for OTEL_METRICS_EXPORTER, and the W3C trace-context
// and baggage propagator. With no variable set it installs nothing and returns a Telemetry
// whose methods do nothing.
//
// Call [Telemetry.Shutdown] before the program exits, so that the last spans and metrics are
// sent. An error names the variable at fault; nothing is left installed or listening then.
func Start(ctx context.Context, opts *Options) (*Telemetry, error) {
	if opts == nil {
		opts = &Options{}
	}
	if strings.EqualFold(strings.TrimSpace(os.Getenv(EnvSDKDisabled)), "true") {
		return &Telemetry{}, nil
	}
	traces, err := exporterName(EnvTracesExporter, ExporterOTLP, ExporterConsole)
	if err != nil {
		return nil, err
	}
	metrics, err := exporterName(EnvMetricsExporter, ExporterOTLP, ExporterPrometheus, ExporterConsole)
	if err != nil {
		return nil, err
	}
	if traces == "" && metrics == "" && len(opts.MetricReaders) == 0 {
		return &Telemetry{}, nil
	}
	res, err := newResource(ctx, opts.ServiceName)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{}
	if traces != "" {
		if t.tracer, err = newTracerProvider(ctx, res, traces); err != nil {
			return nil, err
		}
	}
	if metrics != "" || len(opts.MetricReaders) > 0 {
		var views []sdkmetric.View
		if metrics == "" {
			views = opts.ViewsWithoutExporter
		}
		if t.meter, t.metrics, err = newMeterProvider(ctx, res, metrics, opts.MetricReaders, views); err != nil {
			return nil, errors.Join(err, t.Shutdown(ctx))
		}
	}
	var tp trace.TracerProvider
	if t.tracer != nil {
		tp = t.tracer
	}
	var mp metric.MeterProvider
	if t.meter != nil {
		mp = t.meter
	}
	Install(tp, mp)
	return t, nil
}

// exporterName returns the exporter that the variable env names, "" when it is unset or none,
// or an error when it is not one of accepted (nor none).
func exporterName(env string, accepted ...string) (string, error) {
	v := os.Getenv(env)
	switch {
	case v == "" || v == ExporterNone:
		return "", nil
	case contains(accepted, v):
		return v, nil
	}
	hint := ""
	if strings.Contains(v, ",") {
		hint = " (one exporter per signal)"
	}
	return "", fmt.Errorf("telemetry: %s=%q: want one of %s or %s%s", env, v, strings.Join(accepted, ", "), ExporterNone, hint)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// newResource describes this process: the SDK, the service name (OTEL_SERVICE_NAME over
// serviceName over DefaultServiceName) and OTEL_RESOURCE_ATTRIBUTES.
func newResource(ctx context.Context, serviceName string) (*resource.Resource, error) {
	if serviceName == "" {
		serviceName = DefaultServiceName
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(serviceName)),
		resource.WithFromEnv(), // later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	return res, nil
}

func newTracerProvider(ctx context.Context, res *resource.Resource, name string) (*sdktrace.TracerProvider, error) {
	exp, err := autoexport.NewSpanExporter(ctx, autoexport.WithFallbackSpanExporter(noSpanExporter))
	if err != nil {
		return nil, fmt.Errorf("telemetry: %s=%s: %w", EnvTracesExporter, name, err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// newMeterProvider returns the MeterProvider with extra readers, views, and the reader of the
// exporter name (none when name is "") and, for prometheus, a second reader with its own registry,
// served by the returned handler.
func newMeterProvider(ctx context.Context, res *resource.Resource, name string, extra []sdkmetric.Reader, views []sdkmetric.View) (*sdkmetric.MeterProvider, http.Handler, error) {
	opts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithView(views...)}
	for _, r := range extra {
		opts = append(opts, sdkmetric.WithReader(r))
	}
	if name == "" {
		return sdkmetric.NewMeterProvider(opts...), nil, nil
	}
	reader, err := autoexport.NewMetricReader(ctx, autoexport.WithFallbackMetricReader(noMetricReader))
	if err != nil {
		err = fmt.Errorf("telemetry: %s=%s: %w", EnvMetricsExporter, name, err)
		if name == ExporterPrometheus {
			err = fmt.Errorf("%w (%s and %s choose the address)", err, EnvPrometheusHost, EnvPrometheusPort)
		}
		return nil, nil, err
	}
	opts = append(opts, sdkmetric.WithReader(reader))
	var handler http.Handler
	if name == ExporterPrometheus {
		reg := prometheus.NewRegistry()
		second, err := promexporter.New(promexporter.WithRegisterer(reg))
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("telemetry: the metrics handler: %w", err), reader.Shutdown(ctx))
		}
		opts = append(opts, sdkmetric.WithReader(second))
		handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	return sdkmetric.NewMeterProvider(opts...), handler, nil
}

// The fallbacks for an unset variable: Start does not ask autoexport for a signal whose
// variable is unset, so these only make sure that autoexport's own default (otlp) never applies.
func noSpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	return nil, fmt.Errorf("%s is not set", EnvTracesExporter)
}

func noMetricReader(ctx context.Context) (sdkmetric.Reader, error) {
	return nil, fmt.Errorf("%s is not set", EnvMetricsExporter)
}

// MetricsHandler returns an http.Handler that serves the metrics as Prometheus text when
// OTEL_METRICS_EXPORTER=prometheus, for pipeline.Options.Metrics (GET /metrics on the
// webhook's port); otherwise nil.
func (t *Telemetry) MetricsHandler() http.Handler {
	if t == nil {
		return nil
	}
	return t.metrics
}

// Flush exports the spans and metrics recorded so far, and returns when they were sent or ctx
// ended. A function calls it after each invocation, before it answers (package
// documentation, # Functions).
func (t *Telemetry) Flush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.tracer != nil {
		errs = append(errs, t.tracer.ForceFlush(ctx))
	}
	if t.meter != nil {
		errs = append(errs, t.meter.ForceFlush(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry: flush: %w", err)
	}
	return nil
}

// FlushAfter returns h, made to flush after each request it serves (within 5 seconds, even if
// the client went away), for a function served over HTTP. With nothing installed it returns h
// itself. A flush error goes to OpenTelemetry's error handler (otel.Handle).
func (t *Telemetry) FlushAfter(h http.Handler) http.Handler {
	if t == nil || (t.tracer == nil && t.meter == nil) {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), flushTimeout)
			defer cancel()
			if err := t.Flush(ctx); err != nil {
				otel.Handle(err)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// Shutdown flushes what is left and stops the providers (and the Prometheus listener). Spans
// and metrics recorded afterwards are dropped. Call it once, when the program exits, with a
// context that is not already done.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.tracer != nil {
		errs = append(errs, t.tracer.Shutdown(ctx))
	}
	if t.meter != nil {
		errs = append(errs, t.meter.Shutdown(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry: shutdown: %w", err)
	}
	return nil
}
