package googlepubsub_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/webhookflow"
)

// One trace from the Stripe webhook through Pub/Sub (the pstest fake) to the sink: the webhook's
// SERVER span, the PRODUCER send span, and one CONSUMER process span per delivery, each parented
// by and linked to the send. The subscription has a dead-letter policy, so Pub/Sub reports the
// delivery attempt. The first delivery fails transiently and is nacked, so Pub/Sub delivers the
// message again: two process spans, with delivery attempts 1 and 2, linked to the one send.
func TestTraceWebhookToSinkAcrossPubSub(t *testing.T) {
	n := pubsubtest.Shared(t).Create(t, "traced-flow", &pubsubtest.Options{MaxDeliveryAttempts: 5})
	rec, tp := tracecheck.NewRecorder()
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
	id := webhookflow.Run(t, tp, s, r)

	dest := n.Topic[strings.LastIndexByte(n.Topic, '/')+1:] // the subscription has the topic's name
	webhookflow.Check(t, rec, dest, id, "gcp_pubsub", "messaging.gcp_pubsub.message.delivery_attempt")
}
