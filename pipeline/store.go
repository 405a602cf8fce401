package pipeline

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/eventlog"
	"github.com/hookline/hookline/sink"
)

// storeTo returns the consumer's handler: it writes each event to s with [sink.Apply], tells
// the consumer when the write changed nothing ([channel.ReportIgnored], so the metrics count it
// as ignored), and logs at level "event stored" or "event ignored" with the event's id, type,
// subject and trace ids.
func storeTo(s sink.Sink, log *slog.Logger, level slog.Level) channel.Handler {
	return func(ctx context.Context, ev hookline.Event) error {
		res, err := sink.Apply(ctx, s, ev)
		if err != nil {
			return err
		}
		if res == sink.Ignored {
			channel.ReportIgnored(ctx)
		}
		logStored(ctx, log, level, ev, res == sink.Ignored)
		return nil
	}
}

// logStored logs that the sink stored ev, or ignored it, at level.
func logStored(ctx context.Context, log *slog.Logger, level slog.Level, ev hookline.Event, ignored bool) {
	if !log.Enabled(ctx, level) {
		return
	}
	msg := "event stored"
	if ignored {
		msg = "event ignored: the sink already holds it or a newer event"
	}
	log.LogAttrs(ctx, level, msg, eventlog.Attrs(ctx, ev)...)
}

// sinkName returns the hookline.sink metric attribute of the sink: "memory" for a *sink.Memory
// given in the options, "custom" for another, else the scheme of the sink URL.
func sinkName(given sink.Sink, sinkURL string) string {
	if given != nil {
		if _, ok := given.(*sink.Memory); ok {
			return "memory"
		}
		return "custom"
	}
	if u, err := url.Parse(sinkURL); err == nil && u.Scheme != "" {
		return strings.ToLower(u.Scheme)
	}
	return "custom"
}

// backlogGauge reports b's length as hookline.backlog on mp (nil: the global provider) until
// the returned function is called.
func backlogGauge(mp metric.MeterProvider, b *Backlog) func() {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter("github.com/hookline/hookline/pipeline")
	g, err := m.Int64ObservableGauge("hookline.backlog", metric.WithUnit("{event}"),
		metric.WithDescription("Events the in-process (mem://) channel accepted and has not yet settled."))
	if err != nil {
		return func() {}
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(g, int64(b.Len()))
		return nil
	}, g)
	if err != nil {
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}

// traceIDOf returns the trace id of a W3C traceparent ("00-<trace id>-<span id>-<flags>"), or
// "" when there is none.
func traceIDOf(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 || len(parts[1]) != 32 {
		return ""
	}
	return parts[1]
}
