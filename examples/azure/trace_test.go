package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/eventsource"
)

// TestTraceFromWebhookToServiceBusTrigger runs the example as the host would, with
// OTEL_TRACES_EXPORTER=otlp aimed at an OTLP endpoint here and Service Bus played by the double:
// a Stripe delivery forwarded to the webhook function, the message it sent received from the
// queue and handed to the processor function as the host's Service Bus trigger does (body and
// application properties in the invocation request, nothing else). Its spans, exported by the
// app itself, are one trace: the webhook's SERVER span, its send span, and a process span per
// delivery that is the send's child and links to it. The message is delivered twice: after the
// first invocation it is abandoned (as when the host loses its lock), so Service Bus delivers it
// again with DeliveryCount 2 and the sink ignores the duplicate.
func TestTraceFromWebhookToServiceBusTrigger(t *testing.T) {
	otlp := tracecheck.StartReceiver(t)
	for _, kv := range otlp.Env("azure-trace-test") {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}

	d := sbdouble.Shared(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := fmt.Sprintf("stripe-events-trace-%d", time.Now().UnixNano())
	if err := d.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_azure_trace_test"
	db := filepath.Join(t.TempDir(), "hookline.db")
	base := startApp(t, map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": freePort(t),
		"HOOKLINE_CHANNEL": "azuresbqueue://" + q, "HOOKLINE_SINK": "sqlite://" + filepath.ToSlash(db),
		"STRIPE_WEBHOOK_SECRET": secret, "SERVICEBUS_CONNECTION_STRING": d.ConnectionString})
	payload := stripehook.SampleEvent("customer.updated", "cus_azure_trace", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(payload, nil)
	if status := postForwarded(t, base, payload, secret); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}

	recv := eventsource.ServiceBusReceiver(t, d.ConnectionString, q)
	for delivery := 1; delivery <= 2; delivery++ {
		msgs, err := recv.ReceiveMessages(ctx, 1, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("delivery %d: %d messages, %v", delivery, len(msgs), err)
		}
		m := msgs[0]
		if int(m.DeliveryCount) != delivery || m.ApplicationProperties[channel.MetaTraceparent] == nil {
			t.Fatalf("delivery %d: DeliveryCount %d, application properties %v", delivery, m.DeliveryCount, m.ApplicationProperties)
		}
		status, body := postJSON(t, base+"/processor", http.Header{"Content-Type": {"application/json"}}, invocation(t, m))
		if status != http.StatusOK {
			t.Fatalf("delivery %d: processor answered %d %s", delivery, status, body)
		}
		if delivery == 1 {
			err = recv.AbandonMessage(ctx, m, nil)
		} else {
			err = recv.CompleteMessage(ctx, m, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := readSubjects(t, db)["cus_azure_trace"]; got != want.ID {
		t.Errorf("sink has event %q, want %q", got, want.ID)
	}

	spans := otlp.Of("azure-trace-test")
	flow := tracecheck.ExportedFlow(t, spans, spans, "send "+q, 2, true)
	flow.WantAttrs(t, map[string]string{"messaging.system": "servicebus", "messaging.destination.name": q, "messaging.message.id": want.ID},
		map[string]string{"messaging.message.id": want.ID, "messaging.system": "servicebus"}, "messaging.servicebus.message.delivery_count")
}
