package rabbitmq_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
)

func TestURLParameters(t *testing.T) {
	t.Setenv(rabbitmq.ServerURLEnv, "amqp://guest:guest@127.0.0.1:1/") // never dialled
	ctx := context.Background()
	for _, u := range []string{"rabbitmq://x?prefetch=10", "rabbitmq://x?maxhandlers=0", "rabbitmq://x?batch=a",
		"rabbitmq://x?maxhandlers=2&maxhandlers=3"} {
		if _, err := pubsub.OpenTopic(ctx, u); err == nil || !strings.Contains(err.Error(), "query parameter") {
			t.Errorf("OpenTopic(%s): %v, want a query parameter error", u, err)
		}
	}
	for _, u := range []string{"rabbitmq://x?batch=10", "rabbitmq://x?prefetch=-1", "rabbitmq://x?prefetch_count=5"} {
		if _, err := pubsub.OpenSubscription(ctx, u); err == nil || !strings.Contains(err.Error(), "query parameter") {
			t.Errorf("OpenSubscription(%s): %v, want a query parameter error", u, err)
		}
	}
}

// server returns the RabbitMQ server URL and sets it for rabbitmq:// URLs, skipping t (failing
// it in CI) when the server cannot be reached.
func server(t *testing.T) string { return rabbittest.Server(t) }

// declare declares an exchange and a queue named after t (the queue is bound unless unbound),
// deleted at the end of t.
func declare(t *testing.T, unbound bool) string {
	srv := server(t)
	name := fmt.Sprintf("hookline-rabbitmq-%s-%d-%d", t.Name(), os.Getpid(), time.Now().UnixNano())
	ctx := context.Background()
	if err := rabbitsetup.Declare(ctx, srv, name, name, &rabbitsetup.Options{QueueType: rabbitsetup.Quorum}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rabbitsetup.Delete(context.Background(), srv, name, name) })
	if unbound {
		conn, err := rabbitsetup.Dial(ctx, srv)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err == nil {
			err = ch.QueueUnbind(name, "", name, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return name
}

func TestSendErrors(t *testing.T) {
	unbound := declare(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct {
		exchange string
		code     gcerrors.ErrorCode
		text     string
	}{
		{unbound, gcerrors.FailedPrecondition, "NO_ROUTE"},
		{"hookline-rabbitmq-missing-" + url.PathEscape(t.Name()), gcerrors.NotFound, "NOT_FOUND"},
	} {
		topic, err := pubsub.OpenTopic(ctx, "rabbitmq://"+c.exchange)
		if err != nil {
			t.Fatal(err)
		}
		err = topic.Send(ctx, &pubsub.Message{Body: []byte("x"), Metadata: map[string]string{"ce_id": "evt_1"}})
		if gcerrors.Code(err) != c.code || !strings.Contains(err.Error(), c.exchange) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("send to %s: %v (code %v), want code %v naming the exchange and %s", c.exchange, err, gcerrors.Code(err), c.code, c.text)
		}
		var aerr *amqp.Error
		if !topic.ErrorAs(err, &aerr) {
			t.Errorf("send to %s: ErrorAs(*amqp.Error) failed for %v", c.exchange, err)
		}
		// The topic keeps working for the next batch (NO_ROUTE) or fails again cleanly (NotFound).
		if err := topic.Send(ctx, &pubsub.Message{Body: []byte("y")}); gcerrors.Code(err) != c.code {
			t.Errorf("second send to %s: %v, want code %v", c.exchange, err, c.code)
		}
		topic.Shutdown(ctx)
	}
}

func TestMissingQueueIsNotFound(t *testing.T) {
	server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "hookline-rabbitmq-missing-queue-" + url.PathEscape(t.Name())
	sub, err := pubsub.OpenSubscription(ctx, "rabbitmq://"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	_, err = sub.Receive(ctx)
	if gcerrors.Code(err) != gcerrors.NotFound || !strings.Contains(err.Error(), name) {
		t.Fatalf("receive from a missing queue: %v (code %v), want NotFound naming the queue", err, gcerrors.Code(err))
	}
}

// TestPublishing checks what goes on the wire: persistent, the event id as message id, metadata
// as string headers without the broker's x-delivery-count, and a BeforeSend that sees the
// publishing after all that.
func TestPublishing(t *testing.T) {
	name := declare(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic, err := pubsub.OpenTopic(ctx, "rabbitmq://"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	var conn *amqp.Connection
	if topic.As(&conn) {
		t.Error("topic.As accepts **amqp.Connection; package channel would wrap its messages for rabbitpubsub")
	}
	md := map[string]string{"ce_id": "evt_pub", "ce_type": "customer.updated", "x-delivery-count": "3"}
	var sawPersistent bool
	err = topic.Send(ctx, &pubsub.Message{Body: []byte("{}"), Metadata: md, BeforeSend: func(as func(any) bool) error {
		var p *amqp.Publishing
		if as(&p) {
			sawPersistent = p.DeliveryMode == amqp.Persistent && p.MessageId == "evt_pub"
			p.AppId = "hookline-test"
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !sawPersistent {
		t.Error("BeforeSend did not see a persistent publishing with the event id")
	}
	sub, err := pubsub.OpenSubscription(ctx, "rabbitmq://"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Ack()
	var d amqp.Delivery
	if !m.As(&d) {
		t.Fatal("received message does not expose its *amqp.Delivery")
	}
	if d.DeliveryMode != amqp.Persistent || d.MessageId != "evt_pub" || d.AppId != "hookline-test" {
		t.Errorf("delivery mode %d, message id %q, app id %q; want 2, evt_pub, hookline-test", d.DeliveryMode, d.MessageId, d.AppId)
	}
	if _, ok := d.Headers["x-delivery-count"]; ok {
		t.Errorf("x-delivery-count was forwarded: headers %v", d.Headers)
	}
	if d.Headers["ce_type"] != "customer.updated" || m.Metadata["ce_type"] != "customer.updated" || m.LoggableID != "evt_pub" {
		t.Errorf("headers %v, metadata %v, loggable id %q", d.Headers, m.Metadata, m.LoggableID)
	}
	if n, ok := channel.DeliveryCount(m); !ok || n != 1 {
		t.Errorf("DeliveryCount = %d, %v; want 1, true", n, ok)
	}
}

// TestConcurrentSends sends from many goroutines through several batches in flight and receives
// every message exactly once.
func TestConcurrentSends(t *testing.T) {
	name := declare(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic, err := pubsub.OpenTopic(ctx, "rabbitmq://"+name+"?maxhandlers=4&batch=8")
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	sub, err := pubsub.OpenSubscription(ctx, "rabbitmq://"+name+"?prefetch=16")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("evt_%d", i)
			if err := topic.Send(ctx, &pubsub.Message{Body: []byte(id), Metadata: map[string]string{"ce_id": id}}); err != nil {
				t.Error(err)
			}
		})
	}
	seen := map[string]int{}
	for len(seen) < n {
		m, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d of %d: %v", len(seen), n, err)
		}
		seen[string(m.Body)]++
		m.Ack()
	}
	wg.Wait()
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s received %d times", id, c)
		}
	}
}
