package googlepubsub_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/pubsub/gcppubsub"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/channeltest"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
)

// pubsubAckDeadline is the ack deadline of the test subscriptions. pstest accepts it; the real
// service's minimum is 10s, which would only make the cases that wait for it slower.
const pubsubAckDeadline = 2 * time.Second

// TestConformancePubSub runs the suite on Google's in-process Pub/Sub fake with subscriptions that have
// a dead-letter policy, so Pub/Sub reports delivery attempts. Topics and subscriptions are opened
// by URL (through PUBSUB_EMULATOR_HOST); a reopened receiver is built on a gRPC connection.
func TestConformancePubSub(t *testing.T) {
	h := pubsubHarness(t, &pubsubtest.Options{AckDeadline: pubsubAckDeadline, MaxDeliveryAttempts: 5}, false)
	h.Name = "pubsub"
	h.DeliveryCount = true
	channeltest.Run(t, h)
}

// TestConformancePubSubWithoutDeadLetterPolicy runs the suite on subscriptions without a dead-letter
// policy: Pub/Sub reports no delivery attempt there, so the consumer counts deliveries itself.
// It uses the short URL forms.
func TestConformancePubSubWithoutDeadLetterPolicy(t *testing.T) {
	h := pubsubHarness(t, &pubsubtest.Options{AckDeadline: pubsubAckDeadline}, true)
	h.Name = "pubsub-no-deadletter-policy"
	channeltest.Run(t, h)
}

// pubsubHarness creates a topic and a subscription with opts per Open on the shared server.
func pubsubHarness(t *testing.T, opts *pubsubtest.Options, shortURLs bool) channeltest.Harness {
	srv := pubsubtest.Shared(t)
	sc, err := gcppubsub.SubscriberClient(context.Background(), srv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	var paths sync.Map // *channel.Receiver -> subscription path, for Reopen
	return channeltest.Harness{
		Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
			n := srv.Create(t, "channeltest", opts)
			topicURL, subURL := "gcppubsub://"+n.Topic, "gcppubsub://"+n.Subscription
			if shortURLs {
				topicURL, subURL = shortPubSubURL(n.Topic), shortPubSubURL(n.Subscription)
			}
			ctx := context.Background()
			s, err := channel.OpenSender(ctx, topicURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown(context.Background()) })
			r, err := channel.OpenReceiver(ctx, subURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { shutdownQuietly(r) })
			paths.Store(r, n.Subscription)
			return s, r
		},
		Reopen: func(t *testing.T, r *channel.Receiver) *channel.Receiver {
			path, _ := paths.Load(r)
			sub, err := gcppubsub.OpenSubscriptionByPath(sc, path.(string), nil)
			if err != nil {
				t.Fatal(err)
			}
			nr := channel.NewReceiver(sub)
			paths.Store(nr, path)
			t.Cleanup(func() { shutdownQuietly(nr) })
			return nr
		},
		AckDeadline: pubsubAckDeadline,
		CanNack:     true,
		MissingTopic: func(ctx context.Context, name string) error {
			return channeltest.SendOnce(ctx, "gcppubsub://projects/"+pubsubtest.Project+"/topics/"+name)
		},
		MissingSubscription: func(ctx context.Context, name string) error {
			return channeltest.ReceiveOnce(ctx, "gcppubsub://projects/"+pubsubtest.Project+"/subscriptions/"+name)
		},
	}
}

// shortPubSubURL turns projects/p/topics/t or projects/p/subscriptions/s into gocloud's short
// form gcppubsub://p/t or gcppubsub://p/s.
func shortPubSubURL(path string) string {
	parts := strings.Split(path, "/")
	return "gcppubsub://" + parts[1] + "/" + parts[3]
}

func shutdownQuietly(r *channel.Receiver) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.Shutdown(ctx)
}
