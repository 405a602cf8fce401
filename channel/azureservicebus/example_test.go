package azureservicebus_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/azureservicebus"
)

// An emitter and a consumer sharing one Service Bus queue. SERVICEBUS_CONNECTION_STRING names
// the namespace; the queue has duplicate detection enabled, so Deduplicate makes a webhook that
// Stripe retries land once; failures go to a second queue after 5 deliveries.
func Example_queue() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	sender, err := channel.OpenSender(ctx, "azuresbqueue://stripe-events",
		&channel.SenderOptions{Deduplicate: true})

	if err != nil {
		log.Fatal(err)
	}
	defer sender.Shutdown(context.Background())
	deadLetter, err := channel.OpenSender(ctx, "azuresbqueue://stripe-events-dead", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer deadLetter.Shutdown(context.Background())
	receiver, err := channel.OpenReceiver(ctx, "azuresbqueue://stripe-events", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer receiver.Shutdown(context.Background()) // flushes acks: after Run returned
	handle := func(ctx context.Context, ev hookline.Event) error {
		log.Printf("event %s (%s) about %s", ev.ID, ev.Type, ev.Subject)
		return nil
	}
	consumer, err := channel.NewConsumer(receiver, handle, &channel.ConsumerOptions{
		MaxDeliveries: 5, // below the queue's MaxDeliveryCount, so the consumer dead-letters first
		DeadLetter:    deadLetter,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := consumer.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
