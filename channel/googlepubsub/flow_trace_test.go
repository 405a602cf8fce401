package googlepubsub_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/sink"
)

// One trace from the Stripe webhook through Pub/Sub (the pstest fake) to the sink: the webhook's
// SERVER span, the PRODUCER send span, and one CONSUMER process span per delivery, each parented
// by and linked to the send. The subscription has a dead-letter policy, so Pub/Sub reports the
// delivery attempt. The first delivery fails transiently and is nacked, so Pub/Sub delivers the
// message again: two process spans, with delivery attempts 1 and 2, linked to the one send.
func TestTraceWebhookToSinkAcrossPubSub(t *testing.T) {
	n := pubsubtest.Shared(t).Create(t, "traced-flow", &pubsubtest.Options{MaxDeliveryAttempts: 5})
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx := context.Background()
	s, err := channel.OpenSender(ctx, "gcppubsub://"+n.Topic, &channel.SenderOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	r, err := channel.OpenReceiver(ctx, "gcppubsub://"+n.Subscription, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown(context.Background()) })
	id := traceFlow(t, tp, s, r)

	dest := n.Topic[strings.LastIndexByte(n.Topic, '/')+1:] // the subscription has the topic's name
	spans := flowSpans(t, rec, dest, 2)
	want := map[attribute.Key]string{"messaging.system": "gcp_pubsub", "messaging.destination.name": dest,
		"messaging.message.id": id}
	wantFlowAttrs(t, spans.send, want)
	for _, p := range spans.process {
		wantFlowAttrs(t, p, want)
	}
	wantFlowAttrs(t, spans.process[0], map[attribute.Key]string{"messaging.gcp_pubsub.message.delivery_attempt": "1",
		"error.type": "transient"})
	wantFlowAttrs(t, spans.process[1], map[attribute.Key]string{"messaging.gcp_pubsub.message.delivery_attempt": "2"})
	noErrorType(t, spans.process[1])
}

const flowSecret = "whsec_trace_flow"

// traceFlow posts one signed Stripe delivery to a real webhook handler sending through s, runs a
// consumer on r whose first handler call fails transiently (MaxAttempts 1: the delivery goes
// back to the broker) and whose second writes to a memory sink, and returns the event's id once
// the sink holds it and the consumer has stopped.
func traceFlow(t *testing.T, tp trace.TracerProvider, s *channel.Sender, r *channel.Receiver) string {
	t.Helper()
	h, err := stripehook.NewHandler([]string{flowSecret}, s, nil, &emitter.HandlerOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	mem := sink.NewMemory()
	var calls atomic.Int32
	c, err := channel.NewConsumer(r, func(ctx context.Context, ev hookline.Event) error {
		if calls.Add(1) == 1 {
			return hookline.MarkTransient(errors.New("sink busy"))
		}
		return mem.Write(ctx, ev)
	}, &channel.ConsumerOptions{MaxAttempts: 1, MinBackoff: time.Millisecond, TracerProvider: tp,
		DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()

	p := stripehook.SampleEvent("customer.updated", "cus_traced", time.Now().Truncate(time.Second))
	want, err := stripehook.DecodeUnverified(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(string(p)))
	req.Header.Set("Stripe-Signature", stripehook.Sign(p, flowSecret, time.Now()))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		stop()
		<-done
		t.Fatalf("webhook answered %d %s", w.Code, w.Body)
	}
	err = mem.Wait(ctx, 1)
	stop()
	if rerr := <-done; rerr != nil {
		t.Errorf("consumer: %v", rerr)
	}
	if err != nil {
		t.Fatalf("sink: %v (handler called %d times)", err, calls.Load())
	}
	if rec, ok := mem.Get("cus_traced"); !ok || rec.Event.ID != want.ID {
		t.Fatalf("sink holds %+v, want event %s", rec.Event, want.ID)
	}
	return want.ID
}

// traceSpans are the spans of one traced flow.
type traceSpans struct {
	server, send sdktrace.ReadOnlySpan
	process      []sdktrace.ReadOnlySpan // in the order they ended
	handle       []sdktrace.ReadOnlySpan
}

// flowSpans finds the spans of the flow through destination dest and checks that they are one
// trace: the send is the server span's child, each of the deliveries process spans is the send's
// child and links to it, and each handle span is a process span's child.
func flowSpans(t *testing.T, rec *tracetest.SpanRecorder, dest string, deliveries int) traceSpans {
	t.Helper()
	var ts traceSpans
	var servers, sends []sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		switch {
		case sp.SpanKind() == trace.SpanKindServer:
			servers = append(servers, sp)
		case sp.Name() == "send "+dest:
			sends = append(sends, sp)
		case sp.Name() == "process "+dest:
			ts.process = append(ts.process, sp)
		case sp.Name() == "handle":
			ts.handle = append(ts.handle, sp)
		}
	}
	if len(servers) != 1 || len(sends) != 1 || len(ts.process) != deliveries || len(ts.handle) != deliveries {
		t.Fatalf("%d server, %d send, %d process, %d handle spans; want 1, 1, %d, %d (all: %v)", len(servers),
			len(sends), len(ts.process), len(ts.handle), deliveries, deliveries, spanNames(rec.Ended()))
	}
	ts.server, ts.send = servers[0], sends[0]
	if ts.server.Parent().IsValid() {
		t.Errorf("server span has a parent %v; Stripe's request carries no trace context", ts.server.Parent())
	}
	if ts.send.SpanKind() != trace.SpanKindProducer {
		t.Errorf("send span kind %v", ts.send.SpanKind())
	}
	wantParent(t, ts.send, ts.server)
	processIDs := map[trace.SpanID]bool{}
	for _, p := range ts.process {
		if p.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("process span kind %v", p.SpanKind())
		}
		wantParent(t, p, ts.send)
		if l := p.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != ts.send.SpanContext().SpanID() ||
			l[0].SpanContext.TraceID() != ts.send.SpanContext().TraceID() {
			t.Errorf("process span links %v, want one to the send span %s", l, ts.send.SpanContext().SpanID())
		}
		processIDs[p.SpanContext().SpanID()] = true
	}
	for _, hs := range ts.handle {
		if !processIDs[hs.Parent().SpanID()] || hs.SpanContext().TraceID() != ts.server.SpanContext().TraceID() {
			t.Errorf("handle span's parent %s is not a process span of the trace", hs.Parent().SpanID())
		}
	}
	return ts
}

func wantParent(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("span %q: parent %s in trace %s, want %q %s in trace %s", child.Name(), child.Parent().SpanID(),
			child.SpanContext().TraceID(), parent.Name(), parent.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
}

func wantFlowAttrs(t *testing.T, sp sdktrace.ReadOnlySpan, want map[attribute.Key]string) {
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

// noErrorType checks that sp, a delivery that succeeded, has no error.type.
func noErrorType(t *testing.T, sp sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, kv := range sp.Attributes() {
		if kv.Key == "error.type" {
			t.Errorf("span %q of a successful delivery has error.type %s", sp.Name(), kv.Value.Emit())
		}
	}
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = sp.Name()
	}
	return out
}
