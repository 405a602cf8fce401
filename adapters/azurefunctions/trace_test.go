package azurefunctions

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/azureservicebus" // azuresbqueue://
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/eventsource"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/webhookflow"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

// The webhook function (HTTP trigger, the host's invocation request) and the Service
// Bus-triggered processor function as one trace, through the Service Bus double: the webhook
// opens HOOKLINE_CHANNEL itself and both use the global tracer provider, as in a function app.
// The message is received from the queue as the host's trigger does, with its application
// properties, and handed to the processor as the host's invocation request; the first
// invocation fails (the host abandons the message, Service Bus delivers it again with
// DeliveryCount 2) and the second writes to the sink. Nothing but the message carries the trace
// from one function to the other: both process spans are the send's children and link to it.
func TestTraceFromWebhookFunctionToServiceBusTrigger(t *testing.T) {
	rec := tracecheck.GlobalRecorder()
	d := sbdouble.Shared(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q := "hookline-azf-trace-" + time.Now().Format("150405.000000000")
	if err := d.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	log, _ := testLogger(t)
	mem := sink.NewMemory()
	failOnce, _ := webhookflow.FailOnce(mem)
	base, _, _ := app(t, &Options{FunctionOptions: pipeline.FunctionOptions{Getenv: env{stripehook.EnvSecret: testSecret, pipeline.EnvChannel: "azuresbqueue://" + q}.Get, Logger: log, Sink: sink.Func(failOnce), Consumer: &channel.ProcessorOptions{MaxAttempts: 1, MinBackoff: time.Millisecond}}})

	payload := stripePayload("cus_azf_trace")
	id := eventID(t, payload)
	got := post(t, base+"/webhook", hostHeader(), httpInvocation(t, "POST", stripeHeader(payload, testSecret), payload))
	if got.status != http.StatusOK {
		t.Fatalf("webhook invocation: %d %s", got.status, got.body)
	}

	recv := eventsource.ServiceBusReceiver(t, d.ConnectionString, q)
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

	tr := tracecheck.OneTrace(t, tracecheck.TraceOf(t, rec.Ended(), id, "send "+q), "send "+q, "", 2)
	tracecheck.WantRoot(t, tr.Server)
	if want := tracecheck.Traceparent(tr.Send); traceparent != want {
		t.Errorf("application property traceparent %q, want %q (the send span)", traceparent, want)
	}
	tr.WantRedelivered(t, map[attribute.Key]string{"messaging.system": "servicebus",
		"messaging.destination.name": q, "messaging.message.id": id},
		map[attribute.Key]string{"messaging.message.id": id, "messaging.system": "servicebus"}, "messaging.servicebus.message.delivery_count")
}
