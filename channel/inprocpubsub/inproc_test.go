package inprocpubsub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/channel/inprocpubsub"
)

var seq atomic.Int64

// newURL returns a URL of a topic no other test uses.
func newURL(t *testing.T) string {
	return fmt.Sprintf("inproc://%s-%d", t.Name(), seq.Add(1))
}

func openTopic(t *testing.T, u string) *pubsub.Topic {
	t.Helper()
	tp, err := pubsub.OpenTopic(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp
}

func openSub(t *testing.T, u string) *pubsub.Subscription {
	t.Helper()
	s, err := pubsub.OpenSubscription(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

func send(t *testing.T, tp *pubsub.Topic, body string) {
	t.Helper()
	if err := tp.Send(context.Background(), &pubsub.Message{Body: []byte(body), Metadata: map[string]string{"k": body}}); err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
}

// receive returns the next message; it fails t when none comes within 10s, a bound that
// only catches a hang (messages here are ready at once or after a short ack deadline).
func receive(t *testing.T, s *pubsub.Subscription) *pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := s.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

func deliveryOf(t *testing.T, m *pubsub.Message) inprocpubsub.Delivery {
	t.Helper()
	var d inprocpubsub.Delivery
	if !m.As(&d) {
		t.Fatal("message As(*Delivery) = false")
	}
	return d
}

// expectNothing fails t when s delivers a message within d.
func expectNothing(t *testing.T, s *pubsub.Subscription, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := s.Receive(ctx); err == nil {
		t.Fatalf("unexpected delivery of %q", m.Body)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	u := newURL(t)
	tp, s := openTopic(t, u), openSub(t, u)
	send(t, tp, "a")
	m := receive(t, s)
	if string(m.Body) != "a" || m.Metadata["k"] != "a" {
		t.Fatalf("got %q %v", m.Body, m.Metadata)
	}
	d := deliveryOf(t, m)
	if d.Count != 1 || d.Subscription != "" || !strings.HasSuffix(u, "/"+d.Topic) || m.LoggableID != fmt.Sprint(d.ID) {
		t.Fatalf("delivery %+v, loggable id %q", d, m.LoggableID)
	}
	m.Ack()
	var info inprocpubsub.TopicInfo
	if !tp.As(&info) || !strings.HasSuffix(u, "/"+info.Name) {
		t.Fatalf("topic As(*TopicInfo) = %+v", info)
	}
	info = inprocpubsub.TopicInfo{}
	if !s.As(&info) || !strings.HasSuffix(u, "/"+info.Name) {
		t.Fatalf("subscription As(*TopicInfo) = %+v", info)
	}
}

func TestSendBeforeSubscribeIsKept(t *testing.T) {
	u := newURL(t)
	tp := openTopic(t, u)
	for i := range 3 {
		send(t, tp, fmt.Sprint(i))
	}
	s := openSub(t, u)
	for i := range 3 {
		m := receive(t, s)
		if string(m.Body) != fmt.Sprint(i) {
			t.Fatalf("message %d: %q", i, m.Body)
		}
		m.Ack()
	}
}

func TestSubscriptionBeforeTopic(t *testing.T) {
	u := newURL(t)
	s := openSub(t, u)
	tp := openTopic(t, u)
	send(t, tp, "x")
	receive(t, s).Ack()
}

// TestReceiveWaitsForSend: a Receive started on an empty subscription returns the message sent
// after it started.
func TestReceiveWaitsForSend(t *testing.T) {
	u := newURL(t)
	tp, s := openTopic(t, u), openSub(t, u)
	got := make(chan string, 1)
	go func() {
		m, err := s.Receive(context.Background())
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		m.Ack()
		got <- string(m.Body)
	}()
	select {
	case b := <-got:
		t.Fatalf("Receive returned %q before the send", b)
	default:
	}
	send(t, tp, "late")
	if b := <-got; b != "late" {
		t.Fatalf("got %q", b)
	}
}

func TestEverySubscriptionGetsEveryMessage(t *testing.T) {
	u := newURL(t)
	tp := openTopic(t, u)
	subs := []*pubsub.Subscription{openSub(t, u), openSub(t, u+"?subscription=audit"), openSub(t, u+"?subscription=b")}
	for i := range 5 {
		send(t, tp, fmt.Sprint(i))
	}
	for j, s := range subs {
		for i := range 5 {
			m := receive(t, s)
			if string(m.Body) != fmt.Sprint(i) {
				t.Fatalf("subscription %d, message %d: %q", j, i, m.Body)
			}
			if d := deliveryOf(t, m); d.Count != 1 {
				t.Fatalf("count %d", d.Count)
			}
			m.Ack()
		}
	}
}

// TestReceiversShareASubscription: two receivers on one subscription get each message once
// between them (which gets which depends on gocloud's prefetching).
func TestReceiversShareASubscription(t *testing.T) {
	u := newURL(t) + "?ackdeadline=1h"
	tp := openTopic(t, u)
	a, b := openSub(t, u), openSub(t, u)
	const n = 50
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 2*n)
	for _, s := range []*pubsub.Subscription{a, b} {
		go func() {
			for {
				m, err := s.Receive(ctx)
				if err != nil {
					return
				}
				m.Ack()
				got <- string(m.Body)
			}
		}()
	}
	for i := range n {
		send(t, tp, fmt.Sprint(i))
	}
	seen := map[string]bool{}
	for len(seen) < n {
		select {
		case body := <-got:
			if seen[body] {
				t.Fatalf("%q delivered twice", body)
			}
			seen[body] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d messages received", len(seen), n)
		}
	}
}

func TestAckDeadlineRedelivers(t *testing.T) {
	u := newURL(t) + "?ackdeadline=50ms"
	tp, s := openTopic(t, u), openSub(t, u)
	send(t, tp, "x")
	first := receive(t, s) // neither acked nor nacked
	m := receive(t, s)
	if d := deliveryOf(t, m); string(m.Body) != "x" || d.Count != 2 || m.LoggableID != first.LoggableID {
		t.Fatalf("redelivery %q, %+v", m.Body, d)
	}
	m.Ack()
	first.Ack() // a late ack of the first delivery is harmless
	expectNothing(t, s, 300*time.Millisecond)
}

// TestNackRedeliversAtOnce: with an ack deadline of an hour, only the nack can bring the message
// back within the test.
func TestNackRedeliversAtOnce(t *testing.T) {
	u := newURL(t) + "?ackdeadline=1h"
	tp, s := openTopic(t, u), openSub(t, u)
	send(t, tp, "x")
	for want := 1; want <= 4; want++ {
		m := receive(t, s)
		if !m.Nackable() {
			t.Fatal("not Nackable")
		}
		if d := deliveryOf(t, m); d.Count != want || string(m.Body) != "x" {
			t.Fatalf("delivery %d: count %d, body %q", want, d.Count, m.Body)
		}
		if want < 4 {
			m.Nack()
		} else {
			m.Ack()
		}
	}
}

// TestShutdownReturnsUnacked: messages a receiver held unacknowledged go to the next receiver on
// the subscription at once, with their count going on; acknowledged ones do not.
func TestShutdownReturnsUnacked(t *testing.T) {
	u := newURL(t) + "?ackdeadline=1h"
	tp := openTopic(t, u)
	s1, err := pubsub.OpenSubscription(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	send(t, tp, "acked")
	send(t, tp, "held")
	receive(t, s1).Ack()
	held := receive(t, s1)
	if err := s1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2 := openSub(t, u)
	m := receive(t, s2)
	if d := deliveryOf(t, m); string(m.Body) != "held" || d.Count != 2 || m.LoggableID != held.LoggableID {
		t.Fatalf("after shutdown: %q, %+v", m.Body, d)
	}
	m.Ack()
	held.Ack()
}

// TestShutdownUnblocksReceive: a Receive waiting on an empty subscription returns when the
// subscription is shut down.
func TestShutdownUnblocksReceive(t *testing.T) {
	u := newURL(t)
	s, err := pubsub.OpenSubscription(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Receive(context.Background())
		done <- err
	}()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("Receive returned a message after Shutdown")
	}
	if _, err := s.Receive(context.Background()); err == nil || !strings.Contains(err.Error(), "Shutdown") {
		t.Fatalf("Receive after Shutdown: %v", err)
	}
}

func TestCancelUnblocksReceive(t *testing.T) {
	u := newURL(t)
	tp, s := openTopic(t, u), openSub(t, u)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Receive(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive after cancel: %v", err)
	}
	send(t, tp, "after")
	if m := receive(t, s); string(m.Body) != "after" {
		t.Fatalf("got %q", m.Body)
	} else {
		m.Ack()
	}
}

// TestBacklogBound: past maxbacklog a send fails, clearly, with ResourceExhausted, and goes to no
// subscription; acknowledging makes room again.
func TestBacklogBound(t *testing.T) {
	u := newURL(t) + "?maxbacklog=2"
	tp := openTopic(t, u)
	send(t, tp, "1")
	send(t, tp, "2")
	err := tp.Send(context.Background(), &pubsub.Message{Body: []byte("3")})
	if err == nil {
		t.Fatal("third send to a full subscription succeeded")
	}
	if gcerrors.Code(err) != gcerrors.ResourceExhausted {
		t.Errorf("code %v, want ResourceExhausted", gcerrors.Code(err))
	}
	for _, w := range []string{"inprocpubsub", "maxbacklog is 2", "(default)"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	s := openSub(t, u)
	receive(t, s).Ack()
	receive(t, s).Ack()
	if err := s.Shutdown(context.Background()); err != nil { // flushes the acks
		t.Fatal(err)
	}
	send(t, tp, "4")
	s = openSub(t, u)
	if m := receive(t, s); string(m.Body) != "4" {
		t.Fatalf("got %q, want 4 (3 must have gone nowhere)", m.Body)
	} else {
		m.Ack()
	}
}

// TestNamedOnlyTopic: a topic consumed through named subscriptions only does not fill its
// default subscription, which was never opened.
func TestNamedOnlyTopic(t *testing.T) {
	u := newURL(t)
	tp := openTopic(t, u+"?maxbacklog=2") // the default subscription may hold 2
	s := openSub(t, u+"?subscription=only&maxbacklog=100")
	for i := range 5 {
		send(t, tp, fmt.Sprint(i))
	}
	for i := range 5 {
		if m := receive(t, s); string(m.Body) != fmt.Sprint(i) {
			t.Fatalf("message %d: %q", i, m.Body)
		} else {
			m.Ack()
		}
	}
}

func TestBadURLs(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"inproc://", "names no topic"},
		{"inproc://t?foo=1", `unknown query parameter "foo"`},
		{"inproc://t?ackdeadline=soon", `"ackdeadline": "soon"`},
		{"inproc://t?ackdeadline=0s", `"ackdeadline"`},
		{"inproc://t?maxbacklog=-1", `"maxbacklog": "-1"`},
		{"inproc://t?maxbacklog=x", `"maxbacklog"`},
		{"inproc://t?subscription=", `"subscription" is empty`},
	} {
		_, terr := pubsub.OpenTopic(context.Background(), c.url)
		_, serr := pubsub.OpenSubscription(context.Background(), c.url)
		for what, err := range map[string]error{"topic": terr, "subscription": serr} {
			if err == nil {
				t.Errorf("%s %s: no error", what, c.url)
				continue
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "inprocpubsub: open "+what) {
				t.Errorf("%s %s: error %q does not mention %q", what, c.url, err, c.want)
			}
		}
	}
	if _, err := inprocpubsub.OpenTopic("", nil); err == nil {
		t.Error("OpenTopic(\"\") succeeded")
	}
	if _, err := inprocpubsub.OpenSubscription("t", &inprocpubsub.Options{AckDeadline: -1}); err == nil {
		t.Error("OpenSubscription with a negative AckDeadline succeeded")
	}
}

// TestOneURLServesBoth: the query parameters of a subscription URL are accepted by the topic
// opener too.
func TestOneURLServesBoth(t *testing.T) {
	u := newURL(t) + "?ackdeadline=10s&subscription=s&maxbacklog=5"
	s := openSub(t, u)
	tp := openTopic(t, u)
	send(t, tp, "x")
	receive(t, s).Ack()
}
