package amazonsqs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
)

// A traced event with a tracestate, dead-lettered, stays within SQS's 10 message attributes:
// traceparent in the attributes, tracestate in the body only; the process span continues the
// send's trace and names SQS.
func TestTracedDeadLetterWithinAttributeLimit(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "traced", map[string]string{"VisibilityTimeout": "2"})
	dlq := srv.CreateQueue(t, "traced-dlq", nil)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s := openSender(t, srv.QueueURL(q), &channel.SenderOptions{TracerProvider: tp})
	c, err := channel.NewConsumer(openReceiver(t, srv.QueueURL(q)+"&raw=true"),
		func(context.Context, hookline.Event) error { return hookline.MarkPermanent(errors.New("refused")) },
		&channel.ConsumerOptions{DeadLetter: openSender(t, srv.QueueURL(dlq), nil), TracerProvider: tp,
			DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	ts, err := trace.ParseTraceState("vendor=1")
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{8},
		TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true})
	sctx, cancel := context.WithTimeout(trace.ContextWithRemoteSpanContext(context.Background(), parent), 10*time.Second)
	defer cancel()
	if err := s.Send(sctx, newEvent("evt_traced", "cus_traced")); err != nil {
		t.Fatal(err)
	}
	m, id := receive(t, openReceiver(t, srv.QueueURL(dlq)+"&raw=true"), 15*time.Second)
	stop()
	if err := <-done; err != nil {
		t.Errorf("consumer: %v", err)
	}
	if id != "evt_traced" {
		t.Fatalf("dead-letter queue: got %q", id)
	}
	m.Ack()
	if n := len(m.Metadata); n > 10 {
		t.Errorf("dead-lettered message has %d attributes; SQS allows 10: %v", n, m.Metadata)
	}
	if m.Metadata[channel.MetaTraceparent] == "" || m.Metadata[channel.MetaTracestate] != "" {
		t.Errorf("attributes %v: want traceparent and no tracestate", m.Metadata)
	}
	ev, err := channel.Decode(m.Body)
	if err != nil || ev.Metadata[channel.MetaTracestate] != "vendor=1" {
		t.Errorf("body metadata %v (%v): want tracestate vendor=1", ev.Metadata, err)
	}
	var process sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.Name() == "process traced" {
			process = sp
		}
	}
	if process == nil || process.SpanContext().TraceID() != parent.TraceID() {
		t.Fatalf("no process span in trace %s: %v", parent.TraceID(), rec.Ended())
	}
	if process.SpanContext().TraceState().String() != "vendor=1" {
		t.Errorf("process span's tracestate %q, want vendor=1", process.SpanContext().TraceState())
	}
	want := map[string]string{"messaging.system": "aws_sqs", "error.type": "permanent", "hookline.message.delivery_count": "1"}
	for _, kv := range process.Attributes() {
		if w, ok := want[string(kv.Key)]; ok && kv.Value.Emit() != w {
			t.Errorf("%s = %s, want %s", kv.Key, kv.Value.Emit(), w)
		}
		delete(want, string(kv.Key))
	}
	if len(want) > 0 {
		t.Errorf("process span lacks %v", want)
	}
}
