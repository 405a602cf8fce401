// Package eventlog gives the attributes every log record about an event carries, so that logs,
// traces and metrics join: the event's id, type and subject, and the trace and span ids of the
// span the record is written in.
package eventlog

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
)

// Keys of the attributes.
const (
	KeyID      = "event_id"
	KeyType    = "event_type"
	KeySubject = "event_subject"
	KeyTrace   = "trace_id"
	KeySpan    = "span_id"
)

// Attrs returns ev's id, type and subject (each when set) and Trace(ctx), followed by extra.
func Attrs(ctx context.Context, ev hookline.Event, extra ...slog.Attr) []slog.Attr {
	return Of(ctx, ev.ID, ev.Type, ev.Subject, extra...)
}

// Of is Attrs for an event known only by its id, type and subject (any of them "").
func Of(ctx context.Context, id, typ, subject string, extra ...slog.Attr) []slog.Attr {
	a := make([]slog.Attr, 0, 5+len(extra))
	if id != "" {
		a = append(a, slog.String(KeyID, id))
	}
	if typ != "" {
		a = append(a, slog.String(KeyType, typ))
	}
	if subject != "" {
		a = append(a, slog.String(KeySubject, subject))
	}
	a = appendTrace(a, ctx)
	return append(a, extra...)
}

// Trace returns the trace_id and span_id of ctx's span, or nothing when it has none.
func Trace(ctx context.Context) []slog.Attr { return appendTrace(nil, ctx) }

func appendTrace(a []slog.Attr, ctx context.Context) []slog.Attr {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return a
	}
	return append(a, slog.String(KeyTrace, sc.TraceID().String()), slog.String(KeySpan, sc.SpanID().String()))
}
