package googlepubsub_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/googlepubsub"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
)

func event(id, subject string) hookline.Event {
	return hookline.Event{ID: id, Source: "stripe", Type: "customer.updated", Subject: subject,
		Time: time.Unix(1700000000, 0).UTC(), Data: []byte(`{"id":"` + subject + `"}`)}
}

func open(t *testing.T, names pubsubtest.Names, opts *channel.SenderOptions) (*channel.Sender, *channel.Receiver) {
	t.Helper()
	ctx := context.Background()
	s, err := channel.OpenSender(ctx, "gcppubsub://"+names.Topic, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	r, err := channel.OpenReceiver(ctx, "gcppubsub://"+names.Subscription, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown(context.Background()) })
	return s, r
}

func receive(t *testing.T, r *channel.Receiver) (*pubsub.Message, hookline.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := r.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := channel.Decode(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m, ev
}

func orderingKey(t *testing.T, m *pubsub.Message) string {
	t.Helper()
	var pm *pubsubpb.PubsubMessage
	if !m.As(&pm) {
		t.Fatal("received message does not expose *pubsubpb.PubsubMessage")
	}
	return pm.GetOrderingKey()
}

// TestOrderBySubject sends two events about one customer and one about another to an
// ordering-enabled subscription: each carries its subject as ordering key, and the second event
// of the first customer is delivered only after the first one was acknowledged.
func TestOrderBySubject(t *testing.T) {
	names := pubsubtest.Shared(t).Create(t, "ordering", &pubsubtest.Options{AckDeadline: 10 * time.Second, Ordering: true})
	s, r := open(t, names, &channel.SenderOptions{OrderBySubject: true})
	ctx := bounded(t)
	for _, ev := range []hookline.Event{event("evt_a1", "cus_a"), event("evt_a2", "cus_a"), event("evt_b1", "cus_b")} {
		if err := s.Send(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	first := map[string]*pubsub.Message{}
	for len(first) < 2 {
		m, ev := receive(t, r)
		if ev.ID == "evt_a2" {
			t.Fatal("evt_a2 delivered before evt_a1 was acknowledged")
		}
		if got := orderingKey(t, m); got != ev.Subject {
			t.Errorf("%s: ordering key %q, want %q", ev.ID, got, ev.Subject)
		}
		first[ev.ID] = m
	}
	ctx2, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if m, err := r.Receive(ctx2); err == nil {
		t.Fatalf("message %s (key %q) delivered while evt_a1 is unacknowledged", m.LoggableID, orderingKey(t, m))
	}
	first["evt_b1"].Ack()
	first["evt_a1"].Ack()
	m, ev := receive(t, r)
	if ev.ID != "evt_a2" || orderingKey(t, m) != "cus_a" {
		t.Fatalf("got %s with key %q, want evt_a2 with key cus_a", ev.ID, orderingKey(t, m))
	}
	m.Ack()
}

// TestOrderingKeyOptIn checks that events get no ordering key without OrderBySubject, nor when
// they have no subject, and that Deduplicate alone is accepted and changes nothing.
func TestOrderingKeyOptIn(t *testing.T) {
	srv := pubsubtest.Shared(t)
	for _, tc := range []struct {
		name    string
		opts    *channel.SenderOptions
		subject string
	}{
		{"no options", nil, "cus_1"},
		{"deduplicate only", &channel.SenderOptions{Deduplicate: true}, "cus_1"},
		{"no subject", &channel.SenderOptions{OrderBySubject: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r := open(t, srv.Create(t, "optin", nil), tc.opts)
			if err := s.Send(bounded(t), event("evt_1", tc.subject)); err != nil {
				t.Fatal(err)
			}
			m, _ := receive(t, r)
			if got := orderingKey(t, m); got != "" {
				t.Errorf("ordering key %q, want none", got)
			}
			m.Ack()
		})
	}
}

// TestDeliveryCount checks that channel.DeliveryCount reports Pub/Sub's delivery attempt on a
// subscription with a dead-letter policy, and nothing on one without (the attempt is 0 there).
func TestDeliveryCount(t *testing.T) {
	srv := pubsubtest.Shared(t)
	for _, tc := range []struct {
		name   string
		policy int
	}{{"dead-letter policy", 5}, {"no policy", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			names := srv.Create(t, "count", &pubsubtest.Options{MaxDeliveryAttempts: tc.policy})
			s, r := open(t, names, nil)
			if err := s.Send(bounded(t), event("evt_count", "cus_count")); err != nil {
				t.Fatal(err)
			}
			for want := 1; want <= 3; want++ {
				m, _ := receive(t, r)
				n, ok := channel.DeliveryCount(m)
				if tc.policy == 0 && ok {
					t.Fatalf("delivery %d: DeliveryCount = %d, true without a dead-letter policy", want, n)
				}
				if tc.policy > 0 && (!ok || n != want) {
					t.Fatalf("DeliveryCount = %d, %t; want %d, true", n, ok, want)
				}
				m.Nack()
			}
		})
	}
}

// bounded is a context for one send to the fake: a publish that never returns fails the test
// after 30 s instead of hanging it until go test's own timeout.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
