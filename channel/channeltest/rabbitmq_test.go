package channeltest_test

import (
	"context"
	"testing"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/channeltest"
	_ "github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/channel/rabbitsetup"
)

// The suite on hookline's own RabbitMQ driver (rabbitmq://), with both queue types.

func TestRabbitMQDriverQuorum(t *testing.T) {
	channeltest.Run(t, rabbitmqHarness(t, rabbitsetup.Quorum))
}

func TestRabbitMQDriverClassic(t *testing.T) {
	channeltest.Run(t, rabbitmqHarness(t, rabbitsetup.Classic))
}

// rabbitmqHarness opens both ends by URL. Every rabbitmq:// subscription has a connection of
// its own, so Reopen closes it (the broker returns what was not acknowledged) and opens the queue
// again by URL.
func rabbitmqHarness(t *testing.T, queueType string) channeltest.Harness {
	return amqpHarness(t, "rabbitmq", queueType, "?maxhandlers=4", func(t *testing.T, queue string) *channel.Receiver {
		r, err := channel.OpenReceiver(context.Background(), "rabbitmq://"+queue+"?prefetch=64", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { shutdownQuietly(r) })
		return r
	})
}
