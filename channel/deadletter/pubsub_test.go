package deadletter_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"gocloud.dev/pubsub/gcppubsub"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/deadletter"
	_ "github.com/hookline/hookline/channel/googlepubsub" // gcppubsub:// with delivery attempts
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
)

// pubsubAckDeadline is the ack deadline of the test subscriptions, Pub/Sub's minimum. Each step
// of a test must end within it: gocloud fetches ahead in the background, so a receiver may
// already hold, unseen, a message it has just nacked; the next List or Replay on the receiver
// gets that copy, and only while its ack deadline runs does acknowledging it count.
const pubsubAckDeadline = 10 * time.Second

// TestPubSub: hookline's dead letters from a consumer, and Pub/Sub's own on the main
// subscription's dead-letter topic (a dead-letter policy with 2 delivery attempts: the
// consumer's transient failures nack a message until Pub/Sub forwards it), listed and replayed
// through gcppubsub:// on Google's in-process fake.
func TestPubSub(t *testing.T) {
	t.Parallel()
	srv := pubsubtest.Shared(t)
	main := srv.Create(t, "hookline-deadletter-main", &pubsubtest.Options{AckDeadline: pubsubAckDeadline, MaxDeliveryAttempts: 2})
	dl := srv.Create(t, "hookline-deadletter-dl", &pubsubtest.Options{AckDeadline: pubsubAckDeadline})
	// Pub/Sub keeps what reaches a topic only for its subscriptions: one to list and replay
	// from, and one that the test pulls from to see when the forwarding is done.
	nativeSub := pubsubSubscribe(t, srv, main.DeadLetterTopic, main.Subscription+"-dlq")
	watch := pubsubSubscribe(t, srv, main.DeadLetterTopic, main.Subscription+"-dlq-watch")
	forwarded := map[string]bool{}
	exerciseBroker(t, brokerSetup{
		main:       openSenderURL(t, "gcppubsub://"+main.Topic),
		openMain:   openReceiverURL(t, "gcppubsub://"+main.Subscription),
		dl:         openSenderURL(t, "gcppubsub://"+dl.Topic),
		openDL:     openReceiverURL(t, "gcppubsub://"+dl.Subscription),
		openNative: openReceiverURL(t, "gcppubsub://"+nativeSub),
		nativeCount: func() int {
			for _, id := range pubsubPullAll(t, srv, watch) {
				forwarded[id] = true
			}
			return len(forwarded)
		},
		// pstest (v2.7.0) never removes a message it forwarded to the dead-letter topic from
		// the subscription (its ack by message id does not match the ack id of a delivered
		// message), and its delivery loop forwards it again every 10ms; each copy replaces the
		// one the dead-letter topic's subscriptions hold, acknowledged or not. So once the
		// messages are there, the main subscription is replaced by one without a dead-letter
		// policy, and the replayed messages are received on a second subscription of the main
		// topic.
		afterProduce: func() { pubsubDropDeadLetterPolicy(t, srv, main.Topic, main.Subscription) },
		openReplayed: func() *channel.Receiver {
			return openReceiverURL(t, "gcppubsub://"+pubsubSubscribe(t, srv, main.Topic, main.Subscription+"-replayed"))()
		},
		wait: time.Second,
	})
}

// TestPubSubReplayToAFailingTarget replays to a sender that was shut down: every send fails and
// the dead letters stay, nacked back at once.
func TestPubSubReplayToAFailingTarget(t *testing.T) {
	t.Parallel()
	srv := pubsubtest.Shared(t)
	dl := srv.Create(t, "hookline-deadletter-dl", &pubsubtest.Options{AckDeadline: pubsubAckDeadline})
	target := srv.Create(t, "hookline-deadletter-target", nil)
	s := openSenderURL(t, "gcppubsub://"+dl.Topic)
	for _, ev := range permEvents {
		deadLettered(t, s, ev, "sink: refused")
	}
	to := openSenderURL(t, "gcppubsub://"+target.Topic)
	shutdownSender(to)
	from := openReceiverURL(t, "gcppubsub://"+dl.Subscription)()
	res, err := deadletter.Replay(t.Context(), from, to, fast)
	if err == nil || res != (deadletter.Result{Received: 3, Selected: 3, Failed: 3}) {
		t.Fatalf("replay to a shut-down sender: %+v, %v", res, err)
	}
	t.Logf("replay error: %v", err)
	// Within the 10s ack deadline: only a nack brings them back this soon.
	listIDs(t, from, fast, permPrefix+"1", permPrefix+"2", permPrefix+"3")
}

// pubsubSubscribe creates a subscription named sub (a full resource name) to topic, deleted when
// t ends, and returns its name.
func pubsubSubscribe(t *testing.T, srv *pubsubtest.Server, topic, sub string) string {
	t.Helper()
	sc, err := gcppubsub.SubscriberClient(t.Context(), srv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.CreateSubscription(t.Context(), &pubsubpb.Subscription{Name: sub, Topic: topic,
		AckDeadlineSeconds: int32(pubsubAckDeadline / time.Second)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sc.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: sub}); err != nil {
			t.Errorf("delete subscription %s: %v", sub, err)
		}
	})
	return sub
}

// pubsubPullAll pulls and acknowledges what sub holds now and returns the event ids
// ("ce_id" attributes) of the messages.
func pubsubPullAll(t *testing.T, srv *pubsubtest.Server, sub string) []string {
	sc, err := gcppubsub.SubscriberClient(t.Context(), srv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	resp, err := sc.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 100, ReturnImmediately: true})
	if err != nil {
		t.Errorf("pull %s: %v", sub, err)
		return nil
	}
	var acks, ids []string
	for _, m := range resp.ReceivedMessages {
		acks = append(acks, m.AckId)
		ids = append(ids, m.Message.Attributes["ce_id"])
	}
	if len(acks) > 0 {
		if err := sc.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: acks}); err != nil {
			t.Errorf("acknowledge on %s: %v", sub, err)
		}
	}
	return ids
}

// pubsubDropDeadLetterPolicy replaces the subscription sub of topic by one without a
// dead-letter policy (deleted when t ends, as the one it replaces would have been).
func pubsubDropDeadLetterPolicy(t *testing.T, srv *pubsubtest.Server, topic, sub string) {
	t.Helper()
	sc, err := gcppubsub.SubscriberClient(t.Context(), srv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.DeleteSubscription(t.Context(), &pubsubpb.DeleteSubscriptionRequest{Subscription: sub}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.CreateSubscription(t.Context(), &pubsubpb.Subscription{Name: sub, Topic: topic,
		AckDeadlineSeconds: int32(pubsubAckDeadline / time.Second)}); err != nil {
		t.Fatal(err)
	}
}
