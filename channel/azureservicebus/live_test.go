package azureservicebus_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/azuresb"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/azureservicebus"
)

// liveConnectionString is read before any test runs: the double's tests point
// SERVICEBUS_CONNECTION_STRING at the double for the rest of the process.
var liveConnectionString = os.Getenv("SERVICEBUS_CONNECTION_STRING")

// TestLive runs against a real namespace when SERVICEBUS_CONNECTION_STRING is set, on the queue
// HOOKLINE_SB_QUEUE and, when HOOKLINE_SB_TOPIC and HOOKLINE_SB_SUBSCRIPTION are set, on that
// topic subscription. Use entities dedicated to this test: messages of other senders that it
// receives are abandoned (returned), which counts a delivery against them.
func TestLive(t *testing.T) {
	queue := os.Getenv("HOOKLINE_SB_QUEUE")
	if liveConnectionString == "" || queue == "" {
		t.Skip("live test: set SERVICEBUS_CONNECTION_STRING and HOOKLINE_SB_QUEUE (and optionally HOOKLINE_SB_TOPIC, HOOKLINE_SB_SUBSCRIPTION) to run it against Azure Service Bus")
	}
	t.Run("Queue", func(t *testing.T) {
		liveRoundTrip(t, "azuresbqueue://"+queue, "azuresbqueue://"+queue)
	})
	topic, sub := os.Getenv("HOOKLINE_SB_TOPIC"), os.Getenv("HOOKLINE_SB_SUBSCRIPTION")
	if topic != "" && sub != "" {
		t.Run("Topic", func(t *testing.T) {
			liveRoundTrip(t, "azuresb://"+topic, "azuresb://"+topic+"?subscription="+url.QueryEscape(sub))
		})
	}
}

// liveOpen opens urlstr with openers bound to liveConnectionString rather than the
// environment.
func liveOpen(t *testing.T, sendURL, receiveURL string) (*pubsub.Topic, *pubsub.Subscription) {
	t.Helper()
	ctx := context.Background()
	su, _ := url.Parse(sendURL)
	ru, _ := url.Parse(receiveURL)
	var topic *pubsub.Topic
	var sub *pubsub.Subscription
	var err error
	if su.Scheme == azureservicebus.QueueScheme {
		topic, err = (&azureservicebus.QueueURLOpener{ConnectionString: liveConnectionString}).OpenTopicURL(ctx, su)
	} else {
		topic, err = (&azuresb.URLOpener{ConnectionString: liveConnectionString}).OpenTopicURL(ctx, su)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ru.Scheme == azureservicebus.QueueScheme {
		sub, err = (&azureservicebus.QueueURLOpener{ConnectionString: liveConnectionString}).OpenSubscriptionURL(ctx, ru)
	} else {
		sub, err = (&azuresb.URLOpener{ConnectionString: liveConnectionString}).OpenSubscriptionURL(ctx, ru)
	}
	if err != nil {
		t.Fatal(err)
	}
	return topic, sub
}

// liveRoundTrip sends an event with the message id and session id features, receives it,
// abandons it once and checks the delivery counts 1 and 2, then completes it.
func liveRoundTrip(t *testing.T, sendURL, receiveURL string) {
	topic, sub := liveOpen(t, sendURL, receiveURL)
	s, r := channel.NewSender(topic), channel.NewReceiver(sub)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r.Shutdown(ctx)
		s.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ev := event(time.Now().UnixNano())
	if err := s.Send(ctx, ev); err != nil {
		t.Fatalf("send: %v", err)
	}
	for want := 1; want <= 2; want++ {
		m := liveReceive(ctx, t, r, ev.ID)
		if n, ok := channel.DeliveryCount(m); !ok || n != want {
			t.Errorf("DeliveryCount = %d, %t; want %d", n, ok, want)
		}
		if want == 1 {
			m.Nack()
		} else {
			m.Ack()
		}
	}
}

func liveReceive(ctx context.Context, t *testing.T, r *channel.Receiver, id string) *pubsub.Message {
	t.Helper()
	for {
		m, err := r.Receive(ctx)
		if err != nil {
			t.Fatalf("receive %s: %v", id, err)
		}
		if m.Metadata["ce_id"] == id {
			return m
		}
		m.Nack()
	}
}
