package googlepubsub_test

import (
	"context"
	"log"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/googlepubsub"
)

// A webhook sends to a Pub/Sub topic with the Stripe object id as ordering key; the consumer
// receives from an ordering-enabled subscription with a dead-letter policy, so that its
// MaxDeliveries counts Pub/Sub's delivery attempts. It is compiled, not run: it needs a project.
func Example() {
	ctx := context.Background()
	sender, err := channel.OpenSender(ctx, "gcppubsub://projects/my-project/topics/stripe-events",
		&channel.SenderOptions{OrderBySubject: true})

	if err != nil {
		log.Fatal(err)
	}
	defer sender.Shutdown(ctx)
	deadLetter, err := channel.OpenSender(ctx, "gcppubsub://projects/my-project/topics/stripe-events-deadletter", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer deadLetter.Shutdown(ctx)
	receiver, err := channel.OpenReceiver(ctx, "gcppubsub://projects/my-project/subscriptions/hookline", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer receiver.Shutdown(ctx)
	write := func(ctx context.Context, ev hookline.Event) error { return nil } // your sink
	// MaxDeliveries below the subscription's --max-delivery-attempts (10 in the package doc):
	// the consumer dead-letters first, with the reason; Pub/Sub's policy is the backstop.
	c, err := channel.NewConsumer(receiver, write, &channel.ConsumerOptions{MaxDeliveries: 5, DeadLetter: deadLetter})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
