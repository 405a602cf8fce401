// Package tracecheck holds what the trace tests of the channels, the function adapters and the
// examples share: a span recorder, the checks that a webhook's delivery is one trace from the
// SERVER span through the send span to a process span per delivery, attribute assertions, and
// an OTLP/HTTP endpoint that keeps the spans a process exports. It is for tests only.
package tracecheck

import (
	"strconv"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// NewRecorder returns a span recorder and a tracer provider whose spans it records.
func NewRecorder() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	return rec, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
}

// GlobalRecorder returns a span recorder installed, on the first call in a test binary, as the
// global tracer provider: code that uses the global provider (as a deployed function does, with
// no provider in its options) records into it. Tests find their own spans in it by trace (see
// [TraceOf]).
var GlobalRecorder = sync.OnceValue(func() *tracetest.SpanRecorder {
	rec, tp := NewRecorder()
	otel.SetTracerProvider(tp)
	return rec
})

// Flow are the spans of one traced delivery of a webhook's event.
type Flow struct {
	Server, Send sdktrace.ReadOnlySpan
	Process      []sdktrace.ReadOnlySpan // in the order they ended
	Handle       []sdktrace.ReadOnlySpan
}

// OneTrace finds among spans the one SERVER span, the one span named send, the deliveries spans
// named process (with process "", the CONSUMER spans) and as many spans named "handle", and
// checks that they are one trace: the send is a PRODUCER span and the server span's child, every
// process span is a CONSUMER span, the send's child and links to the send (span and trace id),
// and every handle span is the child of a process span of the trace. It does not look at the
// server span's parent (see [WantRoot]).
func OneTrace(t testing.TB, spans []sdktrace.ReadOnlySpan, send, process string, deliveries int) Flow {
	t.Helper()
	var f Flow
	var servers, sends []sdktrace.ReadOnlySpan
	for _, sp := range spans {
		switch {
		case sp.SpanKind() == trace.SpanKindServer:
			servers = append(servers, sp)
		case sp.Name() == send:
			sends = append(sends, sp)
		case process == "" && sp.SpanKind() == trace.SpanKindConsumer, process != "" && sp.Name() == process:
			f.Process = append(f.Process, sp)
		case sp.Name() == "handle":
			f.Handle = append(f.Handle, sp)
		}
	}
	if len(servers) != 1 || len(sends) != 1 || len(f.Process) != deliveries || len(f.Handle) != deliveries {
		t.Fatalf("%d server, %d send, %d process, %d handle spans; want 1, 1, %d, %d (all: %v)", len(servers),
			len(sends), len(f.Process), len(f.Handle), deliveries, deliveries, Names(spans))
	}
	f.Server, f.Send = servers[0], sends[0]
	if f.Send.SpanKind() != trace.SpanKindProducer {
		t.Errorf("send span kind %v", f.Send.SpanKind())
	}
	WantChildOf(t, f.Send, f.Server)
	ids := map[trace.SpanID]bool{}
	for _, p := range f.Process {
		if p.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("process span kind %v", p.SpanKind())
		}
		WantChildOf(t, p, f.Send)
		if l := p.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != f.Send.SpanContext().SpanID() ||
			l[0].SpanContext.TraceID() != f.Send.SpanContext().TraceID() {
			t.Errorf("process span links %v, want one to the send span %s", l, f.Send.SpanContext().SpanID())
		}
		ids[p.SpanContext().SpanID()] = true
	}
	for _, h := range f.Handle {
		if !ids[h.Parent().SpanID()] || h.SpanContext().TraceID() != f.Server.SpanContext().TraceID() {
			t.Errorf("handle span's parent %s is not a process span of the trace", h.Parent().SpanID())
		}
	}
	return f
}

// TraceOf returns, of spans, those in the trace of the one span named send whose
// messaging.message.id is id (it fails the test unless there is exactly one such span): the spans
// of one event's flow among those of other tests.
func TraceOf(t testing.TB, spans []sdktrace.ReadOnlySpan, id, send string) []sdktrace.ReadOnlySpan {
	t.Helper()
	var sends []sdktrace.ReadOnlySpan
	for _, sp := range spans {
		if sp.Name() == send && Attr(sp, "messaging.message.id") == id {
			sends = append(sends, sp)
		}
	}
	if len(sends) != 1 {
		t.Fatalf("%d send spans %q for %s, want 1", len(sends), send, id)
	}
	traceID := sends[0].SpanContext().TraceID()
	var out []sdktrace.ReadOnlySpan
	for _, sp := range spans {
		if sp.SpanContext().TraceID() == traceID {
			out = append(out, sp)
		}
	}
	return out
}

// WantRoot checks that the server span has no parent: the Stripe request carries no trace
// context.
func WantRoot(t testing.TB, server sdktrace.ReadOnlySpan) {
	t.Helper()
	if server.Parent().IsValid() {
		t.Errorf("server span has a parent %s; Stripe's request carries no trace context", server.Parent().SpanID())
	}
}

// WantChildOf checks that child is parent's child, in its trace.
func WantChildOf(t testing.TB, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("span %q: parent %s in trace %s, want %q %s in trace %s", child.Name(), child.Parent().SpanID(),
			child.SpanContext().TraceID(), parent.Name(), parent.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
}

// Traceparent is the W3C traceparent header (sampled) that names sp as the parent.
func Traceparent(sp sdktrace.ReadOnlySpan) string {
	return "00-" + sp.SpanContext().TraceID().String() + "-" + sp.SpanContext().SpanID().String() + "-01"
}

// Attr returns the value of sp's attribute k as text, "" if sp has none.
func Attr(sp sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range sp.Attributes() {
		if kv.Key == k {
			return kv.Value.Emit()
		}
	}
	return ""
}

// WantAttrs checks that sp has each attribute of want, with the value given as text.
func WantAttrs(t testing.TB, sp sdktrace.ReadOnlySpan, want map[attribute.Key]string) {
	t.Helper()
	got := map[attribute.Key]string{}
	for _, kv := range sp.Attributes() {
		got[kv.Key] = kv.Value.Emit()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %q: %s = %q, want %q (all: %v)", sp.Name(), k, got[k], v, got)
		}
	}
}

// WantNoErrorType checks that sp, a delivery that succeeded, has no error.type.
func WantNoErrorType(t testing.TB, sp sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, kv := range sp.Attributes() {
		if kv.Key == "error.type" {
			t.Errorf("span %q of a successful delivery has error.type %s", sp.Name(), kv.Value.Emit())
		}
	}
}

// WantRedelivered checks the attributes of a flow whose first delivery failed transiently and
// whose last succeeded: the send span has each of send; process span i (from 0) has each of
// process and countKey = i+1; the first has error.type "transient", the last none.
func (f Flow) WantRedelivered(t testing.TB, send, process map[attribute.Key]string, countKey attribute.Key) {
	t.Helper()
	WantAttrs(t, f.Send, send)
	for i, p := range f.Process {
		WantAttrs(t, p, process)
		WantAttrs(t, p, map[attribute.Key]string{countKey: strconv.Itoa(i + 1)})
	}
	if len(f.Process) > 0 {
		WantAttrs(t, f.Process[0], map[attribute.Key]string{"error.type": "transient"})
		WantNoErrorType(t, f.Process[len(f.Process)-1])
	}
}

// Names are the names of spans, for messages.
func Names(spans []sdktrace.ReadOnlySpan) []string {
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = sp.Name()
	}
	return out
}
