package azurefunctions

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/azureservicebus" // azuresbqueue://
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
	"github.com/hookline/hookline/sink"
)

// globalSpans is a span recorder installed once per test binary as the global tracer provider,
// which the functions use as a deployed function app does (no provider in their Options). Tests
// find their own spans in it by trace.
var globalSpans = sync.OnceValue(func() *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	return rec
})

// The webhook function (HTTP trigger, the host's invocation request) and the Service
// Bus-triggered processor function as one trace, through the Service Bus double: the webhook
// opens HOOKLINE_CHANNEL itself and both use the global tracer provider, as in a function app.
// The message is received from the queue as the host's trigger does, with its application
// properties, and handed to the processor as the host's invocation request; the first
// invocation fails (the host abandons the message, Service Bus delivers it again with
// DeliveryCount 2) and the second writes to the sink. Nothing but the message carries the trace
// from one function to the other: both process spans are the send's children and link to it.
func TestTraceFromWebhookFunctionToServiceBusTrigger(t *testing.T) {
	rec := globalSpans()
	d := sbdouble.Shared(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q := "hookline-azf-trace-" + time.Now().Format("150405.000000000")
	if err := d.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	log, _ := testLogger(t)
	mem := sink.NewMemory()
	var calls atomic.Int32
	failOnce := sink.Func(func(ctx context.Context, ev hookline.Event) error {
		if calls.Add(1) == 1 {
			return hookline.MarkTransient(errors.New("sink busy"))
		}
		return mem.Write(ctx, ev)
	})
	base, _, _ := app(t, &Options{
		Getenv: env{EnvSecret: testSecret, EnvChannel: "azuresbqueue://" + q}.Get, Logger: log, Sink: failOnce,
		Consumer: &channel.ProcessorOptions{MaxAttempts: 1, MinBackoff: time.Millisecond},
	})

	payload := stripePayload("cus_azf_trace")
	id := eventID(t, payload)
	got := post(t, base+"/webhook", hostHeader(), httpInvocation(t, "POST", stripeHeader(payload, testSecret), payload))
	if got.status != http.StatusOK {
		t.Fatalf("webhook invocation: %d %s", got.status, got.body)
	}

	client, err := azservicebus.NewClientFromConnectionString(d.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	recv, err := client.NewReceiverForQueue(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close(context.Background())
	var traceparent string // the application property, as the trigger passes it
	for delivery := 1; delivery <= 2; delivery++ {
		msgs, err := recv.ReceiveMessages(ctx, 1, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("delivery %d: %d messages, %v", delivery, len(msgs), err)
		}
		m := msgs[0]
		if int(m.DeliveryCount) != delivery {
			t.Fatalf("delivery %d: DeliveryCount %d", delivery, m.DeliveryCount)
		}
		traceparent, _ = m.ApplicationProperties[channel.MetaTraceparent].(string)
		inv := sbInvocation(t, base64.StdEncoding.EncodeToString(m.Body), m.MessageID, int(m.DeliveryCount), m.ApplicationProperties)
		got := post(t, base+"/processor", hostHeader(), inv)
		switch {
		case delivery == 1 && got.status == http.StatusInternalServerError:
			err = recv.AbandonMessage(ctx, m, nil) // what the host does with a failed invocation
		case delivery == 2 && got.status == http.StatusOK:
			err = recv.CompleteMessage(ctx, m, nil)
		default:
			t.Fatalf("delivery %d: processor answered %d %s", delivery, got.status, got.body)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if r, ok := mem.Get("cus_azf_trace"); !ok || r.Event.ID != id {
		t.Fatalf("sink holds %+v, want event %s", r.Event, id)
	}

	tr := traceOf(t, rec, id, "send "+q, 2)
	if want := "00-" + tr.send.SpanContext().TraceID().String() + "-" + tr.send.SpanContext().SpanID().String() + "-01"; traceparent != want {
		t.Errorf("application property traceparent %q, want %q (the send span)", traceparent, want)
	}
	wantSpanAttrs(t, tr.send, map[attribute.Key]string{"messaging.system": "servicebus",
		"messaging.destination.name": q, "messaging.message.id": id})
	for i, p := range tr.process {
		wantSpanAttrs(t, p, map[attribute.Key]string{"messaging.message.id": id,
			"messaging.servicebus.message.delivery_count": string(rune('1' + i)), "messaging.system": "servicebus"})
	}
	wantSpanAttrs(t, tr.process[0], map[attribute.Key]string{"error.type": "transient"})
}

// tracedFlow are the spans of one event's trace.
type tracedFlow struct {
	server, send sdktrace.ReadOnlySpan
	process      []sdktrace.ReadOnlySpan // in the order they ended
}

// traceOf finds, among all the spans rec holds, the trace of the send span named send for event
// id, and checks that it is one flow: a root SERVER span, the send its child, deliveries process
// spans (the processor has no destination name: "process") that are the send's children and link
// to it, and a handle span under each.
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
