package channel

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

// traced is a tracer provider that records every ended span.
func traced(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp, rec
}

// tracedPair opens a fresh mem:// topic named name-<n> and its subscription, both traced by tp.
func tracedPair(t *testing.T, tp trace.TracerProvider, name string) (*Sender, *Receiver, string) {
	t.Helper()
	dest := fmt.Sprintf("%s-%d", name, topicSeq.Add(1))
	s, err := OpenSender(context.Background(), "mem://"+dest, &SenderOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenReceiver(context.Background(), "mem://"+dest+"?ackdeadline=1s", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Shutdown(ctx)
		s.Shutdown(ctx)
	})
	return s, r, dest
}

// spansNamed returns the ended spans called name, in the order they ended.
func spansNamed(rec *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func attrMap(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[attribute.Key]string) {
	t.Helper()
	got := attrMap(s)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %q: %s = %q, want %q (all: %v)", s.Name(), k, got[k], v, got)
		}
	}
}

func wantChild(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("span %q: parent %s in trace %s, want %q (%s in %s)", child.Name(), child.Parent().SpanID(),
			child.SpanContext().TraceID(), parent.Name(), parent.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
}

func wantLink(t *testing.T, s, to sdktrace.ReadOnlySpan) {
	t.Helper()
	if l := s.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != to.SpanContext().SpanID() {
		t.Errorf("span %q: links %v, want one to %q %s", s.Name(), l, to.Name(), to.SpanContext().SpanID())
	}
}

// eventSource makes an event of every delivery, its id from the X-Id header.
type eventSource struct{}

func (eventSource) Decode(h http.Header, body []byte) (hookline.Event, error) {
	return hookline.Event{ID: h.Get("X-Id"), Source: "stripe", Type: "customer.created", Data: body}, nil
}

// One trace from the webhook's request to the sink: server -> send -> process -> handle.
func TestTraceFromWebhookToSink(t *testing.T) {
	tp, rec := traced(t)
	s, r, dest := tracedPair(t, tp, "trace-webhook")
	h, err := emitter.NewHandler(eventSource{}, s, &emitter.HandlerOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan hookline.Event, 1)
	c, err := NewConsumer(r, func(ctx context.Context, ev hookline.Event) error {
		got <- ev.Clone()
		return nil
	}, &ConsumerOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, c)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"id":"cus_1"}`))
	req.Header.Set("X-Id", "evt_trace")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("webhook answered %d", w.Code)
	}
	ev := <-got
	if ev.Metadata[MetaTraceparent] == "" || !strings.Contains(ev.Metadata[MetaTraceparent], traceID) {
		t.Errorf("event metadata %v, want the traceparent of trace %s", ev.Metadata, traceID)
	}
	stop()
	server, send := spansNamed(rec, "POST"), spansNamed(rec, "send "+dest)
	process, handle := spansNamed(rec, "process "+dest), spansNamed(rec, "handle")
	if len(server) != 1 || len(send) != 1 || len(process) != 1 || len(handle) != 1 {
		t.Fatalf("spans: %d server, %d send, %d process, %d handle; want one each", len(server), len(send), len(process), len(handle))
	}
	if server[0].SpanContext().TraceID().String() != traceID {
		t.Errorf("server span in trace %s, want %s", server[0].SpanContext().TraceID(), traceID)
	}
	wantChild(t, send[0], server[0])
	wantChild(t, process[0], send[0])
	wantLink(t, process[0], send[0])
	wantChild(t, handle[0], process[0])
	if send[0].SpanKind() != trace.SpanKindProducer || process[0].SpanKind() != trace.SpanKindConsumer {
		t.Errorf("kinds: send %v, process %v", send[0].SpanKind(), process[0].SpanKind())
	}
	wantAttrs(t, send[0], map[attribute.Key]string{"messaging.destination.name": dest,
		"messaging.operation.type": "send", "messaging.message.id": "evt_trace"})
	wantAttrs(t, process[0], map[attribute.Key]string{"messaging.destination.name": dest,
		"messaging.operation.type": "process", "messaging.message.id": "evt_trace"})
	wantAttrs(t, handle[0], map[attribute.Key]string{"hookline.attempt": "1"})
	if _, ok := attrMap(send[0])["messaging.system"]; ok {
		t.Errorf("mem:// send span has messaging.system")
	}
}

// A delivery returned to the broker and delivered again shows as two process spans linked to
// the one send.
func TestRedeliveryLinksToSameSend(t *testing.T) {
	tp, rec := traced(t)
	s, r, dest := tracedPair(t, tp, "trace-redeliver")
	var mu sync.Mutex
	calls := 0
	done := make(chan struct{})
	c, err := NewConsumer(r, func(ctx context.Context, ev hookline.Event) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return hookline.MarkTransient(fmt.Errorf("sink busy"))
		}
		close(done)
		return nil
	}, &ConsumerOptions{MaxAttempts: 1, MinBackoff: time.Millisecond, TracerProvider: tp})
	consumeOne(t, c, err, s, testEvent(1), done)
	send, process := spansNamed(rec, "send "+dest), spansNamed(rec, "process "+dest)
	if len(send) != 1 || len(process) != 2 {
		t.Fatalf("%d send and %d process spans, want 1 and 2", len(send), len(process))
	}
	for _, p := range process {
		wantChild(t, p, send[0])
		wantLink(t, p, send[0])
	}
	wantAttrs(t, process[0], map[attribute.Key]string{"error.type": "transient"})
	if _, ok := attrMap(process[1])["error.type"]; ok {
		t.Errorf("the successful delivery has error.type %s", attrMap(process[1])["error.type"])
	}
}

// A dead-lettered message's process span has a "dead-lettered" event and error.type.
func TestDeadLetterSpanEvent(t *testing.T) {
	tp, rec := traced(t)
	s, r, dest := tracedPair(t, tp, "trace-dead")
	dl, _, _ := tracedPair(t, tp, "trace-dead-dl")
	done := make(chan struct{})
	c, err := NewConsumer(r, func(ctx context.Context, ev hookline.Event) error {
		return hookline.MarkPermanent(fmt.Errorf("no such customer"))
	}, &ConsumerOptions{DeadLetter: dl, TracerProvider: tp, OnAck: func() { close(done) }})
	consumeOne(t, c, err, s, testEvent(2), done)
	process := spansNamed(rec, "process "+dest)
	if len(process) != 1 {
		t.Fatalf("%d process spans, want 1", len(process))
	}
	wantAttrs(t, process[0], map[attribute.Key]string{"error.type": "permanent"})
	ev := process[0].Events()
	if len(ev) != 1 || ev[0].Name != "dead-lettered" {
		t.Fatalf("events %v, want one dead-lettered", ev)
	}
	a := map[attribute.Key]string{}
	for _, kv := range ev[0].Attributes {
		a[kv.Key] = kv.Value.Emit()
	}
	if a["hookline.dead_letter.kind"] != "permanent" || !strings.Contains(a["hookline.dead_letter.reason"], "no such customer") {
		t.Errorf("dead-lettered event attributes %v", a)
	}
}

func TestTraceparentSurvivesEncodeDecode(t *testing.T) {
	ev := testEvent(3)
	ev.Metadata = map[string]string{MetaTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		MetaTracestate: "vendor=1"}
	body, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"`) {
		t.Errorf("body %s lacks the traceparent extension attribute", body)
	}
	back, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if back.Metadata[MetaTraceparent] != ev.Metadata[MetaTraceparent] || back.Metadata[MetaTracestate] != "vendor=1" {
		t.Errorf("decoded metadata %v, want %v", back.Metadata, ev.Metadata)
	}
}

// A message from a producer that does not trace is processed in a new trace, without a link.
func TestUntracedMessageProcesses(t *testing.T) {
	tp, rec := traced(t)
	s, r, dest := tracedPair(t, tp, "trace-untraced")
	done := make(chan struct{})
	c, err := NewConsumer(r, func(ctx context.Context, ev hookline.Event) error {
		close(done)
		return nil
	}, &ConsumerOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, c)
	body, err := Encode(testEvent(4))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Topic().Send(context.Background(), &pubsub.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	<-done
	stop()
	process := spansNamed(rec, "process "+dest)
	if len(process) != 1 {
		t.Fatalf("%d process spans, want 1", len(process))
	}
	if process[0].Parent().IsValid() || len(process[0].Links()) != 0 {
		t.Errorf("process span of an untraced message: parent %v, links %v", process[0].Parent(), process[0].Links())
	}
}

// A pushed message carrying its trace context only in the CloudEvents body (a runtime that
// drops message attributes) is still parented by the send.
func TestProcessorContinuesTraceFromBody(t *testing.T) {
	tp, rec := traced(t)
	p, err := NewProcessor(func(context.Context, hookline.Event) error { return nil },
		&ProcessorOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	ev := testEvent(5)
	ev.Metadata = map[string]string{MetaTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	body, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Process(context.Background(), body, nil, 2); err != nil {
		t.Fatal(err)
	}
	process := spansNamed(rec, "process")
	if len(process) != 1 {
		t.Fatalf("%d process spans, want 1", len(process))
	}
	if process[0].Parent().SpanID().String() != "00f067aa0ba902b7" || len(process[0].Links()) != 1 {
		t.Errorf("parent %s, links %v; want the body's traceparent as both", process[0].Parent().SpanID(), process[0].Links())
	}
	wantAttrs(t, process[0], map[attribute.Key]string{"messaging.message.id": "evt_5", "hookline.message.delivery_count": "2"})
}

func TestSendSpanErrorType(t *testing.T) {
	tp, rec := traced(t)
	s, _, dest := tracedPair(t, tp, "trace-senderr")
	if err := s.Send(context.Background(), hookline.Event{ID: "evt_6"}); err == nil {
		t.Fatal("Send of an event without source and type succeeded")
	}
	send := spansNamed(rec, "send "+dest)
	if len(send) != 1 {
		t.Fatalf("%d send spans, want 1", len(send))
	}
	wantAttrs(t, send[0], map[attribute.Key]string{"error.type": "permanent", "messaging.message.id": "evt_6"})
}

// registerTestBroker registers b for the rest of the test.
func registerTestBroker(t *testing.T, b Broker) {
	t.Helper()
	RegisterBroker(b)
	t.Cleanup(func() { unregisterBroker(b.Name) })
}

// A URL's spans take messaging.system and the delivery count attribute from the broker
// registered for its scheme; mem://, inproc:// and an unknown scheme have neither. The values of
// this module's brokers are checked in package channeltest, which links them.
func TestDestinationAndSystemFromURL(t *testing.T) {
	registerTestBroker(t, Broker{Name: "test-system", Schemes: []string{"test-system"},
		System: "test_system", DeliveryCountAttribute: "messaging.test.delivery_count"})
	for _, c := range []struct{ url, dest, system, count string }{
		{"mem://stripe-events", "stripe-events", "", "hookline.message.delivery_count"},
		{"inproc://stripe-events", "stripe-events", "", "hookline.message.delivery_count"},
		{"test-system://host/queues/events?x=1", "events", "test_system", "messaging.test.delivery_count"},
		{"TEST-SYSTEM://events", "events", "test_system", "messaging.test.delivery_count"},
		{"test-other:///arn:aws:sns:us-east-2:123456789012:events", "events", "", "hookline.message.delivery_count"},
	} {
		tr := newTracing(nil, c.url, nil)
		var system string
		for _, kv := range tr.attrs {
			if kv.Key == "messaging.system" {
				system = kv.Value.AsString()
			}
		}
		if tr.name != c.dest || system != c.system || string(tr.count) != c.count {
			t.Errorf("%s: destination %q, system %q, count %q; want %q, %q, %q", c.url, tr.name, system, tr.count, c.dest, c.system, c.count)
		}
	}
	// A topic opened without a URL: its broker names the spans.
	tr := newTracing(nil, "", brokerOf("test-system"))
	if tr.sendName != "send test-system" || len(tr.attrs) != 1 || tr.attrs[0].Value.AsString() != "test_system" {
		t.Errorf("without a URL: span %q, attributes %v", tr.sendName, tr.attrs)
	}
}

// On a broker that limits a message's metadata entries (SQS and SNS: 10 message attributes),
// tracestate travels in the body only, so that a dead-lettered message keeps within the limit.
func TestTracestateInBodyOnlyWhereMetadataIsLimited(t *testing.T) {
	registerTestBroker(t, Broker{Name: "test-limited", Schemes: []string{"test-limited"}, MaxMetadata: 10})
	ts, err := trace.ParseTraceState("vendor=1")
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2},
		TraceFlags: trace.FlagsSampled, TraceState: ts})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	for _, c := range []struct {
		url        string
		mdHasState bool
	}{{"test-limited://sqs.us-east-2.amazonaws.com/123456789012/events?region=us-east-2", false}, {"mem://events", true}} {
		tr := newTracing(nil, c.url, nil)
		md := map[string]string{}
		ev := tr.inject(ctx, md, testEvent(7))
		if ev.Metadata[MetaTracestate] != "vendor=1" || ev.Metadata[MetaTraceparent] == "" || md[MetaTraceparent] != ev.Metadata[MetaTraceparent] {
			t.Errorf("%s: event metadata %v, message metadata %v", c.url, ev.Metadata, md)
		}
		if _, ok := md[MetaTracestate]; ok != c.mdHasState {
			t.Errorf("%s: message metadata %v: tracestate there %t, want %t", c.url, md, ok, c.mdHasState)
		}
		if got := extract(md, ev.Metadata); got.TraceState().String() != "vendor=1" || got.SpanID() != sc.SpanID() {
			t.Errorf("%s: extracted %v", c.url, got)
		}
	}
}

// A Processor told its subscription names its process spans and sets messaging.system and
// messaging.destination.name, as a Consumer does; a bare scheme gives the system alone.
func TestProcessorSpansNameTheSubscription(t *testing.T) {
	registerTestBroker(t, Broker{Name: "test-queue", Schemes: []string{"test-queue"}, System: "test_queue"})
	registerTestBroker(t, Broker{Name: "test-counting", Schemes: []string{"test-counting"}, System: "test_counting",
		DeliveryCountAttribute: "messaging.test_counting.delivery_count"})
	for _, c := range []struct {
		sub, span string
		want      map[attribute.Key]string
	}{
		{"test-queue://sqs.us-east-2.amazonaws.com/123456789012/stripe-events?region=us-east-2", "process stripe-events",
			map[attribute.Key]string{"messaging.system": "test_queue", "messaging.destination.name": "stripe-events"}},
		{"test-counting://", "process", map[attribute.Key]string{"messaging.system": "test_counting", "messaging.test_counting.delivery_count": "2"}},
		{"", "process", map[attribute.Key]string{"messaging.system": "", "hookline.message.delivery_count": "2"}},
	} {
		tp, rec := traced(t)
		p, err := NewProcessor(func(context.Context, hookline.Event) error { return nil },
			&ProcessorOptions{TracerProvider: tp, Subscription: c.sub})
		if err != nil {
			t.Fatal(err)
		}
		body, err := Encode(hookline.Event{ID: "evt_1", Source: "stripe", Type: "customer.created"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Process(context.Background(), body, nil, 2); err != nil {
			t.Fatal(err)
		}
		spans := spansNamed(rec, c.span)
		if len(spans) != 1 {
			t.Fatalf("subscription %q: %d spans named %q; all: %v", c.sub, len(spans), c.span, rec.Ended())
		}
		wantAttrs(t, spans[0], c.want)
	}
}

// parseTraceparent reads what OpenTelemetry's W3C propagator reads, and refuses what it refuses.
func FuzzParseTraceparent(f *testing.F) {
	for _, s := range []string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
		"0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"", "00", "garbage",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got, ok := parseTraceparent(h)
		ctx := traceContext.Extract(context.Background(), propagation.MapCarrier{MetaTraceparent: h})
		want := trace.SpanContextFromContext(ctx)
		if ok != want.IsValid() || (ok && !got.Equal(want)) {
			t.Fatalf("traceparent %q: parsed %v (ok %t), the propagator extracts %v (valid %t)", h, got, ok, want, want.IsValid())
		}
	})
}

// consumeOne runs c (made with error err) until ev, sent with s, is settled, which the test's
// handler or OnAck reports by closing done.
func consumeOne(t *testing.T, c *Consumer, err error, s *Sender, ev hookline.Event, done <-chan struct{}) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, c)
	if err := s.Send(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	<-done
	stop()
}
