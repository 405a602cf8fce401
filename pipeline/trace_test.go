package pipeline

import (
	"context"
	"net/http"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/sink"
)

// Options.TracerProvider traces the whole flow as one trace: webhook, send, process, sink write.
func TestOneTraceThroughThePipeline(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	mem := sink.NewMemory()
	h := start(t, mem, func(_ *Config, o *Options) { o.TracerProvider = tp })
	if s := h.post("cus_traced", time.Now()); s != http.StatusOK {
		t.Fatalf("webhook answered %d", s)
	}
	if err := mem.Wait(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	byKind := map[trace.SpanKind]sdktrace.ReadOnlySpan{}
	var handle sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		byKind[s.SpanKind()] = s
		if s.Name() == "handle" {
			handle = s
		}
	}
	server, send, process := byKind[trace.SpanKindServer], byKind[trace.SpanKindProducer], byKind[trace.SpanKindConsumer]
	if server == nil || send == nil || process == nil || handle == nil {
		t.Fatalf("spans %v: want server, producer, consumer and handle", rec.Ended())
	}
	for _, pair := range [][2]sdktrace.ReadOnlySpan{{send, server}, {process, send}, {handle, process}} {
		child, parent := pair[0], pair[1]
		if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != server.SpanContext().TraceID() {
			t.Errorf("span %q: parent %s, want %q %s in the server's trace", child.Name(), child.Parent().SpanID(),
				parent.Name(), parent.SpanContext().SpanID())
		}
	}
}
