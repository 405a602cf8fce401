package gcpfunctions_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/adapters/gcpfunctions"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/sink"
)

// globalSpans is a span recorder installed once per test binary as the global tracer provider,
// which the functions use as a deployed function does (no provider in their Options). Tests find
// their own spans in it by trace.
var globalSpans = sync.OnceValue(func() *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	return rec
})

// The webhook function and the processor function, both served by the Functions Framework, as
// one trace through Pub/Sub (pstest): the webhook opens HOOKLINE_CHANNEL itself and both use the
// global tracer provider. The message the webhook published is pulled from a subscription with
// a dead-letter policy (so Pub/Sub reports its delivery attempt) and handed to the processor as
// Eventarc's messagePublished CloudEvent, or as a push subscription's request: its attributes
// and data are all that carries the trace from one function to the other. The first invocation
// fails (the message is nacked and Pub/Sub delivers it again, attempt 2), the second writes to
// the sink: two process spans, both the send's children and linked to it.
func TestTraceFromWebhookFunctionToPubSubProcessor(t *testing.T) {
	rec := globalSpans()
	srv := pubsubtest.Shared(t)
	for _, shape := range []struct{ name, fn string }{{"cloudevent", fnProcess}, {"push", fnPush}} {
		t.Run(shape.name, func(t *testing.T) {
			names := srv.Create(t, "gcf-trace", &pubsubtest.Options{MaxDeliveryAttempts: 5})
			log, _ := testLogger(t)
			wh := gcpfunctions.NewWebhook(&gcpfunctions.Options{Logger: log, Getenv: env{
				gcpfunctions.EnvChannel: "gcppubsub://" + names.Topic, gcpfunctions.EnvSecret: testSecret}.Get})
			t.Cleanup(func() { wh.Close(context.Background()) })
			serve(t, fnWebhook, wh)

			mem := sink.NewMemory()
			var calls atomic.Int32
			failOnce := sink.Func(func(ctx context.Context, ev hookline.Event) error {
				if calls.Add(1) == 1 {
					return hookline.MarkTransient(errors.New("sink busy"))
				}
				return mem.Write(ctx, ev)
			})
			proc := gcpfunctions.NewProcessor(&gcpfunctions.Options{Logger: log, Sink: failOnce, Getenv: env{}.Get,
				Consumer: &channel.ProcessorOptions{MaxAttempts: 1, MinBackoff: time.Millisecond}})
			t.Cleanup(func() { proc.Close(context.Background()) })
			if shape.fn == fnProcess {
				serve(t, fnProcess, proc.HandleCloudEvent)
			} else {
				serve(t, fnPush, proc)
			}

			subject := "cus_gcf_trace_" + shape.name
			payload := stripehook.SampleEvent("customer.updated", subject, time.Now().Truncate(time.Second))
			want, err := stripehook.DecodeUnverified(payload, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r := postStripe(t, payload, testSecret); r.status != http.StatusOK {
				t.Fatalf("webhook: %d %s", r.status, r.body)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			recv, err := channel.OpenReceiver(ctx, "gcppubsub://"+names.Subscription, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer recv.Shutdown(context.Background())
			var traceparent string // the message attribute, as the trigger passes it
			for attempt := 1; attempt <= 2; attempt++ {
				m, err := recv.Receive(ctx)
				if err != nil {
					t.Fatalf("attempt %d: %v", attempt, err)
				}
				if n, ok := channel.DeliveryCount(m); !ok || n != attempt {
					t.Fatalf("delivery attempt %d, %t; want %d", n, ok, attempt)
				}
				traceparent = m.Metadata[channel.MetaTraceparent]
				body := pushBody(t, m.Body, m.Metadata, attempt)
				var r result
				if shape.fn == fnProcess {
					r = postBinaryCloudEvent(t, gcpfunctions.MessagePublishedType, body)
				} else {
					r = do(t, newRequest(t, http.MethodPost, fnPush, body))
				}
				switch {
				case attempt == 1 && !is2xx(r.status):
					m.Nack() // what Pub/Sub does with a failed push or CloudEvent invocation
				case attempt == 2 && is2xx(r.status):
					m.Ack()
				default:
					t.Fatalf("attempt %d: processor answered %d %s", attempt, r.status, r.body)
				}
			}
			if r, ok := mem.Get(subject); !ok || r.Event.ID != want.ID {
				t.Fatalf("sink holds %+v, want event %s", r.Event, want.ID)
			}

			dest := names.Topic[len("projects/"+pubsubtest.Project+"/topics/"):]
			tr := traceOf(t, rec, want.ID, "send "+dest, 2)
			if w := "00-" + tr.send.SpanContext().TraceID().String() + "-" + tr.send.SpanContext().SpanID().String() + "-01"; traceparent != w {
				t.Errorf("message attribute traceparent %q, want %q (the send span)", traceparent, w)
			}
			wantSpanAttrs(t, tr.send, map[attribute.Key]string{"messaging.system": "gcp_pubsub",
				"messaging.destination.name": dest, "messaging.message.id": want.ID})
			for i, p := range tr.process {
				wantSpanAttrs(t, p, map[attribute.Key]string{"messaging.message.id": want.ID,
					"messaging.gcp_pubsub.message.delivery_attempt": string(rune('1' + i)), "messaging.system": "gcp_pubsub"})
			}
			wantSpanAttrs(t, tr.process[0], map[attribute.Key]string{"error.type": "transient"})
		})
	}
}

// tracedFlow are the spans of one event's trace.
type tracedFlow struct {
	server, send sdktrace.ReadOnlySpan
	process      []sdktrace.ReadOnlySpan // in the order they ended
}

// traceOf finds, among all the spans rec holds, the trace of the send span named send for event
// id, and checks that it is one flow: a root SERVER span, the send its child, deliveries process
// spans that are the send's children and link to it, and a handle span under each.
func traceOf(t *testing.T, rec *tracetest.SpanRecorder, id, send string, deliveries int) tracedFlow {
	t.Helper()
	var tr tracedFlow
	all := rec.Ended()
	var sends []sdktrace.ReadOnlySpan
	for _, sp := range all {
		if sp.Name() == send && attrOf(sp, "messaging.message.id") == id {
			sends = append(sends, sp)
		}
	}
	if len(sends) != 1 {
		t.Fatalf("%d send spans %q for %s, want 1", len(sends), send, id)
	}
	tr.send = sends[0]
	traceID := tr.send.SpanContext().TraceID()
	var servers, handles []sdktrace.ReadOnlySpan
	var names []string
	for _, sp := range all {
		if sp.SpanContext().TraceID() != traceID {
			continue
		}
		names = append(names, sp.Name())
		switch {
		case sp.SpanKind() == trace.SpanKindServer:
			servers = append(servers, sp)
		case sp.SpanKind() == trace.SpanKindConsumer:
			tr.process = append(tr.process, sp)
		case sp.Name() == "handle":
			handles = append(handles, sp)
		}
	}
	if len(servers) != 1 || len(tr.process) != deliveries || len(handles) != deliveries {
		t.Fatalf("trace %s: %d server, %d process, %d handle spans; want 1, %d, %d (all: %v)", traceID,
			len(servers), len(tr.process), len(handles), deliveries, deliveries, names)
	}
	tr.server = servers[0]
	if tr.server.Parent().IsValid() {
		t.Errorf("server span has parent %s; Stripe's request carries no trace context", tr.server.Parent().SpanID())
	}
	wantChildOf(t, tr.send, tr.server)
	ids := map[trace.SpanID]bool{}
	for _, p := range tr.process {
		wantChildOf(t, p, tr.send)
		if l := p.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != tr.send.SpanContext().SpanID() {
			t.Errorf("process span links %v, want one to the send span %s", l, tr.send.SpanContext().SpanID())
		}
		ids[p.SpanContext().SpanID()] = true
	}
	for _, h := range handles {
		if !ids[h.Parent().SpanID()] {
			t.Errorf("handle span's parent %s is not a process span of the trace", h.Parent().SpanID())
		}
	}
	return tr
}

func attrOf(sp sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range sp.Attributes() {
		if kv.Key == k {
			return kv.Value.Emit()
		}
	}
	return ""
}

func wantChildOf(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("span %q: parent %s in trace %s, want %q %s in trace %s", child.Name(), child.Parent().SpanID(),
			child.SpanContext().TraceID(), parent.Name(), parent.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
}

func wantSpanAttrs(t *testing.T, sp sdktrace.ReadOnlySpan, want map[attribute.Key]string) {
	t.Helper()
	for k, v := range want {
		if got := attrOf(sp, k); got != v {
			t.Errorf("span %q: %s = %q, want %q", sp.Name(), k, got, v)
		}
	}
}
