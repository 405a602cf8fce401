package channeltest_test

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
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// rabbitServer returns the server URL (RABBIT_SERVER_URL, or the local default) and sets it for
// the rabbit:// URL opener, skipping t (failing it in CI) when the server cannot be reached.
func rabbitServer(t *testing.T) string {
	t.Helper()
	u := testenv.Getenv("RABBIT_SERVER_URL", "amqp://guest:guest@localhost:5672/")
	t.Setenv("RABBIT_SERVER_URL", u)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := rabbitsetup.Dial(ctx, u)
	testenv.Require(t, "RabbitMQ", err)
	conn.Close()
	return u
}

func TestRabbitQuorum(t *testing.T) {
	channeltest.Run(t, rabbitHarness(t, rabbitsetup.Quorum))
}

func TestRabbitClassic(t *testing.T) {
	channeltest.Run(t, rabbitHarness(t, rabbitsetup.Classic))
}

// rabbitHarness declares a fresh exchange and queue of queueType per Open. The sender is opened by
// URL (rabbit://exchange, through RABBIT_SERVER_URL); each receiver gets a connection of its own,
// so that Reopen can close it and make the broker return what it had not acknowledged.
func rabbitHarness(t *testing.T, queueType string) channeltest.Harness {
	server := rabbitServer(t)
	return amqpHarness(t, "rabbit", queueType, "", func(t *testing.T, queue string) *channel.Receiver {
		conn, err := rabbitsetup.Dial(context.Background(), server)
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
	server := rabbitServer(t)
	var queues sync.Map // *channel.Receiver -> queue name
	open := func(t *testing.T, queue string) *channel.Receiver {
		r := openReceiver(t, queue)
		queues.Store(r, queue)
		return r
	}
	return channeltest.Harness{
		Name: scheme + "-" + queueType,
		Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
			name := declareRabbit(t, server, queueType)
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
			s, err := channel.OpenSender(ctx, scheme+"://"+name, nil)
			if err != nil {
				return err
			}
			defer s.Shutdown(ctx)
			return s.Send(ctx, newEventForMissing())
		},
		MissingSubscription: func(ctx context.Context, name string) error {
			r, err := channel.OpenReceiver(ctx, scheme+"://"+name, nil)
			if err != nil {
				return err
			}
			defer shutdownQuietly(r)
			_, err = r.Receive(ctx)
			return err
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
