package rabbitmq_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/pubsub/rabbitpubsub"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/channeltest"
	"github.com/hookline/hookline/channel/rabbitsetup"
)

// The suite on both RabbitMQ drivers, each with both queue types.

func TestConformanceRabbitMQQuorum(t *testing.T) {
	channeltest.Run(t, rabbitmqHarness(t, rabbitsetup.Quorum))
}

func TestConformanceRabbitMQClassic(t *testing.T) {
	channeltest.Run(t, rabbitmqHarness(t, rabbitsetup.Classic))
}

func TestConformanceRabbitQuorum(t *testing.T) {
	channeltest.Run(t, rabbitHarness(t, rabbitsetup.Quorum))
}

func TestConformanceRabbitClassic(t *testing.T) {
	channeltest.Run(t, rabbitHarness(t, rabbitsetup.Classic))
}

// rabbitmqHarness opens both ends of this package's driver by URL. Every rabbitmq://
// subscription has a connection of its own, so Reopen closes it (the broker returns what was not
// acknowledged) and opens the queue again by URL.
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

// rabbitHarness is for gocloud's driver: the sender is opened by URL (rabbit://exchange, through
// RABBIT_SERVER_URL); each receiver gets a connection of its own, so that Reopen can close it and
// make the broker return what it had not acknowledged.
func rabbitHarness(t *testing.T, queueType string) channeltest.Harness {
	srv := server(t)
	return amqpHarness(t, "rabbit", queueType, "", func(t *testing.T, queue string) *channel.Receiver {
		conn, err := rabbitsetup.Dial(context.Background(), srv)
		if err != nil {
			t.Fatal(err)
		}
		r := channel.NewReceiver(rabbitpubsub.OpenSubscription(conn, queue, nil))
		t.Cleanup(func() { shutdownQuietly(r); conn.Close() })
		return r
	})
}

// amqpHarness is the harness of both RabbitMQ drivers: scheme is "rabbit" or "rabbitmq",
// senderQuery is appended to the sender's URL, and openReceiver opens a receiver on a queue
// with a connection of its own.
func amqpHarness(t *testing.T, scheme, queueType, senderQuery string, openReceiver func(*testing.T, string) *channel.Receiver) channeltest.Harness {
	srv := server(t)
	var queues sync.Map // *channel.Receiver -> queue name
	open := func(t *testing.T, queue string) *channel.Receiver {
		r := openReceiver(t, queue)
		queues.Store(r, queue)
		return r
	}
	return channeltest.Harness{
		Name: scheme + "-" + queueType,
		Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
			name := declareRabbit(t, srv, queueType)
			s, err := channel.OpenSender(context.Background(), scheme+"://"+name+senderQuery, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown(context.Background()) })
			return s, open(t, name)
		},
		Reopen: func(t *testing.T, r *channel.Receiver) *channel.Receiver {
			var conn *amqp.Connection
			if !r.Subscription().As(&conn) {
				t.Fatalf("%s subscription does not expose its connection", scheme)
			}
			conn.Close() // the broker returns the unacknowledged messages
			queue, _ := queues.Load(r)
			return open(t, queue.(string))
		},
		CanNack:       true,
		DeliveryCount: queueType == rabbitsetup.Quorum,
		MissingTopic: func(ctx context.Context, name string) error {
			return channeltest.SendOnce(ctx, scheme+"://"+name)
		},
		MissingSubscription: func(ctx context.Context, name string) error {
			return channeltest.ReceiveOnce(ctx, scheme+"://"+name)
		},
	}
}

var rabbitSeq sync.Mutex
var rabbitN int

// declareRabbit declares an exchange and a queue with one fresh name, deleted at the end of t.
func declareRabbit(t *testing.T, server, queueType string) string {
	t.Helper()
	rabbitSeq.Lock()
	rabbitN++
	name := fmt.Sprintf("hookline-channeltest-%s-%d-%d", queueType, os.Getpid(), rabbitN)
	rabbitSeq.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rabbitsetup.Declare(ctx, server, name, name, &rabbitsetup.Options{QueueType: queueType}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rabbitsetup.Delete(ctx, server, name, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

func shutdownQuietly(r *channel.Receiver) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.Shutdown(ctx)
}
