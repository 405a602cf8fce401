package rabbitmq_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/rabbitpubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/rabbitsetup"
)

// The channel package's support for gocloud's rabbit:// driver, which this package registers: what
// a channel.Sender publishes there and what channel.DeliveryCount reads.

// rabbitPair declares a fresh exchange and queue of queueType and opens them by rabbit:// URL.
func rabbitPair(t *testing.T, queueType string) (*channel.Sender, *channel.Receiver) {
	t.Helper()
	s, r, _ := rabbitPairNamed(t, queueType)
	return s, r
}

// rabbitPairNamed is rabbitPair that also returns the name of the exchange and the queue.
func rabbitPairNamed(t *testing.T, queueType string) (*channel.Sender, *channel.Receiver, string) {
	t.Helper()
	srv := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := fmt.Sprintf("hookline-channel-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	if err := rabbitsetup.Declare(ctx, srv, name, name, &rabbitsetup.Options{QueueType: queueType}); err != nil {
		t.Fatal(err)
	}
	s, err := channel.OpenSender(ctx, "rabbit://"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := channel.OpenReceiver(ctx, "rabbit://"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Shutdown(ctx)
		s.Shutdown(ctx)
		if err := rabbitsetup.Delete(ctx, srv, name, name); err != nil {
			t.Error(err)
		}
	})
	return s, r, name
}

func receiveDelivery(t *testing.T, r *channel.Receiver) (*pubsub.Message, amqp.Delivery) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := r.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d amqp.Delivery
	if !m.As(&d) {
		t.Fatal("received message does not expose its amqp.Delivery")
	}
	return m, d
}

func TestRabbitSendIsPersistentWithEventID(t *testing.T) {
	s, r := rabbitPair(t, rabbitsetup.Quorum)
	ev := hookline.Event{ID: "evt_persist", Source: "stripe", Type: "customer.created"}
	if err := s.Send(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	m, d := receiveDelivery(t, r)
	m.Ack()
	if d.DeliveryMode != amqp.Persistent {
		t.Errorf("DeliveryMode = %d, want %d (persistent)", d.DeliveryMode, amqp.Persistent)
	}
	if d.MessageId != ev.ID || m.LoggableID != ev.ID {
		t.Errorf("MessageId = %q, LoggableID = %q; want the event id %q", d.MessageId, m.LoggableID, ev.ID)
	}
}

// A forwarded message keeps its metadata but not the broker's delivery count; the caller's own
// BeforeSend runs last and can override what the sender set.
func TestRabbitSendMessageForwarding(t *testing.T) {
	s, r := rabbitPair(t, rabbitsetup.Quorum)
	calledBefore := false
	m := &pubsub.Message{
		Body:     []byte("raw"),
		Metadata: map[string]string{"x-delivery-count": "7", "ce_id": "evt_fwd", "keep": "yes"},
		BeforeSend: func(as func(any) bool) error {
			var p *amqp.Publishing
			if as(&p) {
				calledBefore = p.DeliveryMode == amqp.Persistent
				p.MessageId = "custom"
			}
			return nil
		},
	}
	if err := s.SendMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got, d := receiveDelivery(t, r)
	got.Ack()
	if !calledBefore {
		t.Error("the caller's BeforeSend did not run after the sender's")
	}
	if d.MessageId != "custom" {
		t.Errorf("MessageId = %q, want the caller's %q", d.MessageId, "custom")
	}
	if n, ok := channel.DeliveryCount(got); !ok || n != 1 {
		t.Errorf("DeliveryCount = %d, %t; want 1, true (a forwarded x-delivery-count must not count)", n, ok)
	}
	if got.Metadata["keep"] != "yes" {
		t.Errorf("metadata %v lost a key", got.Metadata)
	}
}

// On a classic queue a redelivery is only flagged: DeliveryCount reports the first delivery and
// nothing for later ones.
func TestRabbitClassicDeliveryCount(t *testing.T) {
	s, r := rabbitPair(t, rabbitsetup.Classic)
	if err := s.Send(context.Background(), hookline.Event{ID: "evt_c", Source: "stripe", Type: "t"}); err != nil {
		t.Fatal(err)
	}
	m, _ := receiveDelivery(t, r)
	if n, ok := channel.DeliveryCount(m); !ok || n != 1 {
		t.Fatalf("first delivery: DeliveryCount = %d, %t; want 1, true", n, ok)
	}
	m.Nack()
	m, d := receiveDelivery(t, r)
	m.Ack()
	if !d.Redelivered {
		t.Fatal("second delivery is not flagged Redelivered")
	}
	if n, ok := channel.DeliveryCount(m); ok {
		t.Errorf("redelivery on a classic queue: DeliveryCount = %d, true; want unknown", n)
	}
}

// A rabbitpubsub topic opened by other means than a URL is recognised through As, so NewSender
// publishes persistent messages to it too.
func TestRabbitNewSenderIsPersistent(t *testing.T) {
	_, r, name := rabbitPairNamed(t, rabbitsetup.Quorum)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := rabbitsetup.Dial(ctx, server(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := channel.NewSender(rabbitpubsub.OpenTopic(conn, name, nil))
	defer s.Shutdown(ctx)
	if err := s.Send(ctx, hookline.Event{ID: "evt_new_sender", Source: "stripe", Type: "customer.created"}); err != nil {
		t.Fatal(err)
	}
	m, d := receiveDelivery(t, r)
	m.Ack()
	if d.DeliveryMode != amqp.Persistent || d.MessageId != "evt_new_sender" {
		t.Errorf("DeliveryMode = %d, MessageId = %q; want persistent with the event id", d.DeliveryMode, d.MessageId)
	}
}
