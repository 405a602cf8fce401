package rabbitmq_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
)

// One trace across RabbitMQ: the message's headers and CloudEvents body carry the send's
// traceparent, and the consumer's process span (of the second delivery: the first is looked at
// and returned) is the send's child and links to it.
func TestTraceAcrossRabbitMQ(t *testing.T) {
	name := declare(t, false)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := channel.OpenSender(ctx, "rabbitmq://"+name, &channel.SenderOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	r, err := channel.OpenReceiver(ctx, "rabbitmq://"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(context.Background())

	pctx, parent := tp.Tracer("test").Start(ctx, "webhook", trace.WithSpanKind(trace.SpanKindServer))
	ev := hookline.Event{ID: "evt_rabbit_trace", Source: "stripe", Type: "customer.created", Data: []byte(`{}`)}
	if err := s.Send(pctx, ev); err != nil {
		t.Fatal(err)
	}
	parent.End()
	// The headers carry the trace context too: look, and return the message for the consumer.
	m, err := r.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tp := m.Metadata[channel.MetaTraceparent]; len(tp) != 55 || tp[3:35] != parent.SpanContext().TraceID().String() {
		t.Errorf("header traceparent %q, want one in trace %s", tp, parent.SpanContext().TraceID())
	}
	m.Nack()
	got := make(chan hookline.Event, 1)
	c, err := channel.NewConsumer(r, func(_ context.Context, ev hookline.Event) error {
		got <- ev.Clone()
		return nil
	}, &channel.ConsumerOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	var delivered hookline.Event
	select {
	case delivered = <-got:
	case <-ctx.Done():
		t.Fatal("no delivery")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tp.Shutdown(context.Background())

	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, sp := range rec.Ended() {
		spans[sp.Name()] = sp
	}
	send, process := spans["send "+name], spans["process "+name]
	if send == nil || process == nil {
		t.Fatalf("spans %v, want send and process %s", keys(spans), name)
	}
	if send.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("send span's parent %s, want the webhook span %s", send.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if process.Parent().SpanID() != send.SpanContext().SpanID() || process.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("process span's parent %s in trace %s, want the send span %s in %s", process.Parent().SpanID(),
			process.SpanContext().TraceID(), send.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
	if l := process.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != send.SpanContext().SpanID() {
		t.Errorf("process span's links %v, want the send span", l)
	}
	if tp := delivered.Metadata[channel.MetaTraceparent]; tp == "" || tp[36:52] != send.SpanContext().SpanID().String() {
		t.Errorf("body traceparent %q, want the send span %s", tp, send.SpanContext().SpanID())
	}
	if n := spanAttr(process, "hookline.message.delivery_count"); n != "2" {
		t.Errorf("process span's delivery count %q, want 2 (the quorum queue's count)", n)
	}
	for _, sp := range []sdktrace.ReadOnlySpan{send, process} {
		a := map[attribute.Key]string{}
		for _, kv := range sp.Attributes() {
			a[kv.Key] = kv.Value.Emit()
		}
		if a["messaging.system"] != "rabbitmq" || a["messaging.destination.name"] != name || a["messaging.message.id"] != ev.ID {
			t.Errorf("span %q attributes %v", sp.Name(), a)
		}
	}
}

// spanAttr returns the attribute k of sp as text.
func spanAttr(sp sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range sp.Attributes() {
		if kv.Key == k {
			return kv.Value.Emit()
		}
	}
	return ""
}

func keys(m map[string]sdktrace.ReadOnlySpan) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
