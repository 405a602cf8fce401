package channeltest_test

import (
	"context"
	"sync"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

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

// rabbitmqHarness declares a fresh exchange and queue of queueType per Open and opens both ends
// by URL. Every rabbitmq:// subscription has a connection of its own, so Reopen closes it (the
// broker returns what was not acknowledged) and opens the queue again by URL.
func rabbitmqHarness(t *testing.T, queueType string) channeltest.Harness {
	server := rabbitServer(t)
	var queues sync.Map // *channel.Receiver -> queue name
	openReceiver := func(t *testing.T, queue string) *channel.Receiver {
		r, err := channel.OpenReceiver(context.Background(), "rabbitmq://"+queue+"?prefetch=64")
		if err != nil {
			t.Fatal(err)
		}
		queues.Store(r, queue)
		t.Cleanup(func() { shutdownQuietly(r) })
		return r
	}
	return channeltest.Harness{
		Name: "rabbitmq-" + queueType,
		Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
			name := declareRabbit(t, server, queueType)
			s, err := channel.OpenSender(context.Background(), "rabbitmq://"+name+"?maxhandlers=4")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown(context.Background()) })
			return s, openReceiver(t, name)
		},
		Reopen: func(t *testing.T, r *channel.Receiver) *channel.Receiver {
			var conn *amqp.Connection
			if !r.Subscription().As(&conn) {
				t.Fatal("rabbitmq subscription does not expose its connection")
			}
			conn.Close() // already closed by Shutdown; the broker returns the unacknowledged messages
			queue, _ := queues.Load(r)
			return openReceiver(t, queue.(string))
		},
		CanNack:       true,
		DeliveryCount: queueType == rabbitsetup.Quorum,
		MissingTopic: func(ctx context.Context, name string) error {
			s, err := channel.OpenSender(ctx, "rabbitmq://"+name)
			if err != nil {
				return err
			}
			defer s.Shutdown(ctx)
			return s.Send(ctx, newEventForMissing())
		},
		MissingSubscription: func(ctx context.Context, name string) error {
			r, err := channel.OpenReceiver(ctx, "rabbitmq://"+name)
			if err != nil {
				return err
			}
			defer shutdownQuietly(r)
			_, err = r.Receive(ctx)
			return err
		},
	}
}
