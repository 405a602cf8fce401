// Package channeltest is a conformance suite for hookline channels: it checks that a broker
// driver, opened through package channel, carries events intact and settles messages the way the
// consumer loop relies on.
//
// Each broker runs it next to its own driver, in its package's tests (TestConformance... in
// channel, channel/rabbitmq, channel/amazonsqs, channel/googlepubsub, channel/azureservicebus).
// Run it from a test of your own, with a [Harness] that opens a fresh topic and subscription on
// the broker and says what the driver can do:
//
//	func TestConformanceMyBroker(t *testing.T) {
//		channeltest.Run(t, channeltest.Harness{
//			Name: "mybroker",
//			Open: func(t *testing.T) (*channel.Sender, *channel.Receiver) {
//				name := createTopicAndSubscription(t) // your provisioning, removed in t.Cleanup
//				s, err := channel.OpenSender(context.Background(), "mybroker://"+name, nil)
//				if err != nil {
//					t.Fatal(err)
//				}
//				r, err := channel.OpenReceiver(context.Background(), "mybroker://"+name+"?sub=1", nil)
//				if err != nil {
//					t.Fatal(err)
//				}
//				t.Cleanup(func() { r.Shutdown(context.Background()); s.Shutdown(context.Background()) })
//				return s, r
//			},
//			AckDeadline:   30 * time.Second,
//			CanNack:       true,
//			DeliveryCount: true,
//			MissingTopic: func(ctx context.Context, name string) error {
//				return channeltest.SendOnce(ctx, "mybroker://"+name)
//			},
//		})
//	}
//
// A case the driver cannot support (no nack, no redelivery of unacknowledged messages, no
// delivery count) is left out rather than skipped, so that "skipped" in a CI log always means
// something was missing that should not have been. The cases wait for conditions with bounded
// loops; the only fixed waits are those that prove something does not happen, and they last a
// little longer than the harness's AckDeadline.
package channeltest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
)

// Harness describes a driver under test and what it can do.
type Harness struct {
	// Name names the driver in failure messages.
	Name string

	// Open returns a sender and a receiver for a fresh, empty topic and a subscription to it,
	// declaring whatever the broker needs. It registers their shutdown and any cleanup with
	// t.Cleanup; the suite may already have shut either down by then, so errors from a second
	// Shutdown must be ignored. Required.
	Open func(t *testing.T) (*channel.Sender, *channel.Receiver)

	// Reopen, when set, closes r for good (the suite has already called r.Shutdown) and opens a
	// new receiver on the same subscription, as a restarted process would. Messages r received
	// but did not acknowledge must be delivered again to the new receiver, at once or after
	// AckDeadline. Leave it nil when a new receiver is a new subscription (mem://).
	Reopen func(t *testing.T, r *channel.Receiver) *channel.Receiver

	// AckDeadline is how long after delivery a message that was neither acknowledged nor
	// nacked is delivered again while its receiver lives (a visibility or lock timeout). Zero
	// means the driver does not redeliver such a message until its receiver is closed
	// (RabbitMQ); the cases that wait for the deadline are then left out.
	AckDeadline time.Duration

	// CanNack reports that messages are Nackable and a nacked message is redelivered promptly.
	CanNack bool

	// DeliveryCount reports that channel.DeliveryCount returns exact counts for this driver,
	// also for redeliveries.
	DeliveryCount bool

	// MissingTopic, when set, opens a topic named name that does not exist, sends an event to
	// it and returns the first error. The suite checks that there is one and that it names the
	// topic. Leave it nil for drivers that create topics on demand (mem://).
	MissingTopic func(ctx context.Context, name string) error

	// MissingSubscription, when set, does the same for a subscription: open it, receive, and
	// return the first error.
	MissingSubscription func(ctx context.Context, name string) error

	// LargeData is the size in bytes of the event data in the large-message case. Default
	// 200,000, which fits brokers with a 256 KiB message limit.
	LargeData int

	// Wait bounds each wait for a message that should arrive. Default 30s.
	Wait time.Duration
}

// Run runs every case h supports, each as a subtest on its own topic and subscription.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Open == nil {
		t.Fatal("channeltest: Harness.Open is required")
	}
	if h.LargeData <= 0 {
		h.LargeData = 200_000
	}
	if h.Wait <= 0 {
		h.Wait = 30 * time.Second
	}
	redelivers := h.CanNack || h.AckDeadline > 0 || h.Reopen != nil
	cases := []struct {
		name string
		run  func(*testing.T, *Harness)
		ok   bool
	}{
		{"RoundTrip", testRoundTrip, true},
		{"AckRemoves", testAckRemoves, h.Reopen != nil || h.AckDeadline > 0},
		{"NackRedelivers", testNackRedelivers, h.CanNack},
		{"UnackedReturnsAfterDeadline", testUnackedAfterDeadline, h.AckDeadline > 0},
		{"UnackedReturnsAfterReopen", testUnackedAfterReopen, h.Reopen != nil},
		{"DeliveryCount", testDeliveryCount, h.DeliveryCount && redelivers},
		{"DeadLetterAfterMaxDeliveries", testDeadLetter, h.CanNack || h.AckDeadline > 0},
		{"ClosedSender", testClosedSender, true},
		{"ClosedReceiver", testClosedReceiver, true},
		{"MissingTopic", testMissingTopic, h.MissingTopic != nil},
		{"MissingSubscription", testMissingSubscription, h.MissingSubscription != nil},
		{"CancelIsPrompt", testCancel, true},
		{"BatchConsumer", testBatchConsumer, true},
	}
	for _, c := range cases {
		if c.ok {
			t.Run(c.name, func(t *testing.T) { c.run(t, &h) })
		}
	}
}

var seq atomic.Int64

// newEvent returns an event with an id unique in this process.
func newEvent(t *testing.T) hookline.Event {
	n := seq.Add(1)
	return hookline.Event{
		ID: fmt.Sprintf("evt_ct_%d_%d", time.Now().UnixNano(), n), Source: "stripe", Type: "customer.updated",
		Subject: fmt.Sprintf("cus_%d", n), Time: time.Unix(1700000000, 123456789).UTC(),
		Data: []byte(fmt.Sprintf(`{"id":"cus_%d","object":"customer"}`, n)),
	}
}

func send(t *testing.T, s *channel.Sender, ev hookline.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Send(ctx, ev); err != nil {
		t.Fatalf("send %s: %v", ev.ID, err)
	}
}

// receive returns the next message and its event, failing t if none arrives within h.Wait.
func (h *Harness) receive(t *testing.T, r *channel.Receiver) (*pubsub.Message, hookline.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), h.Wait)
	defer cancel()
	m, err := r.Receive(ctx)
	if err != nil {
		t.Fatalf("%s: receive: %v", h.Name, err)
	}
	ev, err := channel.Decode(m.Body)
	if err != nil {
		t.Fatalf("%s: decode received message %s: %v", h.Name, m.LoggableID, err)
	}
	return m, ev
}

// receiveID receives until the event with id want arrives and returns its message. Messages
// carrying the event forbid fail t; others are acknowledged and ignored.
func (h *Harness) receiveID(t *testing.T, r *channel.Receiver, want, forbid string) *pubsub.Message {
	t.Helper()
	for {
		m, ev := h.receive(t, r)
		switch ev.ID {
		case want:
			return m
		case forbid:
			t.Fatalf("%s: received %s again after it was acknowledged", h.Name, forbid)
		default:
			m.Ack()
		}
	}
}

// expectNothing fails t if r delivers a message within d.
func (h *Harness) expectNothing(t *testing.T, r *channel.Receiver, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := r.Receive(ctx)
	if err == nil {
		t.Fatalf("%s: unexpected delivery of %s (metadata %v)", h.Name, m.LoggableID, m.Metadata)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s: receive: %v", h.Name, err)
	}
}

// giveBack returns m to the broker by the quickest means the driver has, and returns the
// receiver to go on with.
func (h *Harness) giveBack(t *testing.T, r *channel.Receiver, m *pubsub.Message) *channel.Receiver {
	t.Helper()
	switch {
	case h.CanNack:
		if !m.Nackable() {
			t.Fatalf("%s: Harness.CanNack is set but the message is not Nackable", h.Name)
		}
		m.Nack()
	case h.AckDeadline > 0:
		// Leave it; it comes back after the deadline.
	case h.Reopen != nil:
		shutdown(t, r)
		return h.Reopen(t, r)
	}
	return r
}

func shutdown(t *testing.T, r *channel.Receiver) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("receiver shutdown: %v", err)
	}
}

// SendOnce opens a sender on urlstr, sends one event and returns the first error, shutting the
// sender down. It is the usual [Harness].MissingTopic of a driver opened by URL.
func SendOnce(ctx context.Context, urlstr string) error {
	s, err := channel.OpenSender(ctx, urlstr, nil)
	if err != nil {
		return err
	}
	defer s.Shutdown(ctx)
	return s.Send(ctx, hookline.Event{ID: "evt_missing", Source: "stripe", Type: "customer.created"})
}

// ReceiveOnce opens a receiver on urlstr, receives once and returns the first error, shutting the
// receiver down. It is the usual [Harness].MissingSubscription of a driver opened by URL.
func ReceiveOnce(ctx context.Context, urlstr string) error {
	r, err := channel.OpenReceiver(ctx, urlstr, nil)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		r.Shutdown(ctx)
	}()
	_, err = r.Receive(ctx)
	return err
}

// checkClear fails t unless err is a non-context error that says what went wrong.
func checkClear(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error", what)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Fatalf("%s: got a context error instead of a failure: %v", what, err)
	}
	t.Logf("%s: %v", what, err)
	for _, w := range words {
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
			t.Errorf("%s: error %q does not mention %q", what, err, w)
		}
	}
}
