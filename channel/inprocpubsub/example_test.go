package inprocpubsub_test

import (
	"context"
	"fmt"
	"log"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/channel/inprocpubsub"
)

// One URL serves both ends, in either order; a message sent before the subscription is opened
// waits for it.
func Example() {
	ctx := context.Background()
	const url = "inproc://example-orders"

	topic, err := pubsub.OpenTopic(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	if err := topic.Send(ctx, &pubsub.Message{Body: []byte("sent first")}); err != nil {
		log.Fatal(err)
	}

	sub, err := pubsub.OpenSubscription(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	m, err := sub.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var d inprocpubsub.Delivery
	m.As(&d)
	fmt.Printf("%s (delivery %d)\n", m.Body, d.Count)
	m.Ack()
	// Output: sent first (delivery 1)
}
