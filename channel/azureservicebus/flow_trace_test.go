package azureservicebus_test

import (
	"testing"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/webhookflow"
)

// One trace from the Stripe webhook through Service Bus (the double) to the sink: the webhook's
// SERVER span, the PRODUCER send span, and one CONSUMER process span per delivery, each parented
// by and linked to the send. The first delivery fails transiently and is abandoned, so Service
// Bus delivers the message again: two process spans, with delivery counts 1 and 2, linked to the
// one send.
func TestTraceWebhookToSinkAcrossServiceBus(t *testing.T) {
	d := sbdouble.Shared(t, nil)
	q := queueName()
	if err := d.CreateQueue(testCtx(t), q, nil); err != nil {
		t.Fatal(err)
	}
	rec, tp := tracecheck.NewRecorder()
	s, r := open(t, "azuresbqueue://"+q, "azuresbqueue://"+q, &channel.SenderOptions{TracerProvider: tp})
	id := webhookflow.Run(t, tp, s, r)

	webhookflow.Check(t, rec, q, id, "servicebus", "messaging.servicebus.message.delivery_count")
}
