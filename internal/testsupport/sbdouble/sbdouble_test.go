package sbdouble_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/hookline/hookline/internal/testsupport/sbdouble"
)

var seq atomic.Int64

func name(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// setup starts a double with a short lock and returns a client connected to it.
func setup(t *testing.T) (*sbdouble.Double, *azservicebus.Client) {
	t.Helper()
	d := sbdouble.Start(t, &sbdouble.Options{LockDuration: time.Second, MaxDeliveryCount: 3, Verbose: testing.Verbose()})
	c, err := azservicebus.NewClientFromConnectionString(d.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return d, c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sendOne(t *testing.T, c *azservicebus.Client, entity string, m *azservicebus.Message) {
	t.Helper()
	s, err := c.NewSender(entity, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if err := s.SendMessage(ctxT(t), m, nil); err != nil {
		t.Fatalf("send to %s: %v", entity, err)
	}
}

func receiveOne(t *testing.T, r *azservicebus.Receiver) *azservicebus.ReceivedMessage {
	t.Helper()
	ms, err := r.ReceiveMessages(ctxT(t), 1, nil)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if len(ms) != 1 {
		t.Fatalf("received %d messages, want 1", len(ms))
	}
	return ms[0]
}

func TestQueueRoundTripKeepsProperties(t *testing.T) {
	d, c := setup(t)
	ctx := ctxT(t)
	q := name("q")
	if err := d.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	id, session, subject := "evt_1", "cus_1", "customer.updated"
	body := []byte{0, 1, 2, 0xff, 'x'}
	sendOne(t, c, q, &azservicebus.Message{
		Body: body, MessageID: &id, SessionID: &session, Subject: &subject,
		ApplicationProperties: map[string]any{"ce_id": "evt_1", "note": "Zoë 日本"},
	})
	r, err := c.NewReceiverForQueue(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	m := receiveOne(t, r)
	if string(m.Body) != string(body) || m.MessageID != id || m.SessionID == nil || *m.SessionID != session {
		t.Errorf("got body %q id %q session %v", m.Body, m.MessageID, m.SessionID)
	}
	if m.Subject == nil || *m.Subject != subject || m.ApplicationProperties["note"] != "Zoë 日本" {
		t.Errorf("subject %v, properties %v", m.Subject, m.ApplicationProperties)
	}
	if m.DeliveryCount != 1 || m.SequenceNumber == nil || m.LockedUntil == nil || m.EnqueuedTime == nil {
		t.Errorf("delivery count %d, sequence %v, locked until %v, enqueued %v", m.DeliveryCount, m.SequenceNumber, m.LockedUntil, m.EnqueuedTime)
	}
	if m.LockToken == ([16]byte{}) {
		t.Error("no lock token")
	}
	if err := r.CompleteMessage(ctx, m, nil); err != nil {
		t.Fatalf("complete: %v", err)
	}
	expectEmpty(t, d, q)
}

func expectEmpty(t *testing.T, d *sbdouble.Double, path string) {
	t.Helper()
	ms, err := d.Messages(ctxT(t), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 0 {
		t.Errorf("%s holds %v, want nothing", path, ms)
	}
}

func TestAbandonCountsAndDeadLetters(t *testing.T) {
	d, c := setup(t)
	ctx := ctxT(t)
	q := name("q")
	if err := d.CreateQueue(ctx, q, &sbdouble.EntityOptions{MaxDeliveryCount: 2}); err != nil {
		t.Fatal(err)
	}
	sendOne(t, c, q, &azservicebus.Message{Body: []byte("x")})
	r, err := c.NewReceiverForQueue(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	for want := uint32(1); want <= 2; want++ {
		m := receiveOne(t, r)
		if m.DeliveryCount != want {
			t.Fatalf("delivery count %d, want %d", m.DeliveryCount, want)
		}
		if err := r.AbandonMessage(ctx, m, nil); err != nil {
			t.Fatalf("abandon: %v", err)
		}
	}
	dlq, err := c.NewReceiverForQueue(q, &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close(ctx)
	m := receiveOne(t, dlq)
	if m.DeadLetterReason == nil || *m.DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Errorf("dead-letter reason %v", m.DeadLetterReason)
	}
	if err := dlq.CompleteMessage(ctx, m, nil); err != nil {
		t.Fatal(err)
	}
	expectEmpty(t, d, q)
	expectEmpty(t, d, q+"/$DeadLetterQueue")
}

func TestLockExpiryRedeliversAndLateCompleteFails(t *testing.T) {
	d, c := setup(t)
	ctx := ctxT(t)
	q := name("q")
	if err := d.CreateQueue(ctx, q, &sbdouble.EntityOptions{LockDuration: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	sendOne(t, c, q, &azservicebus.Message{Body: []byte("x")})
	r, err := c.NewReceiverForQueue(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	first := receiveOne(t, r)
	second := receiveOne(t, r) // after the lock expired
	if second.DeliveryCount != 2 {
		t.Errorf("delivery count after lock expiry %d, want 2", second.DeliveryCount)
	}
	var sbErr *azservicebus.Error
	if err := r.CompleteMessage(ctx, first, nil); !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeLockLost {
		t.Errorf("complete with an expired lock: %v, want lock lost", err)
	}
	if err := r.RenewMessageLock(ctx, second, nil); err != nil {
		t.Fatalf("renew lock: %v", err)
	}
	if err := r.CompleteMessage(ctx, second, nil); err != nil {
		t.Fatalf("complete: %v", err)
	}
	expectEmpty(t, d, q)
}

func TestDeadLetterMessageAndDefer(t *testing.T) {
	d, c := setup(t)
	ctx := ctxT(t)
	q := name("q")
	if err := d.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	sendOne(t, c, q, &azservicebus.Message{Body: []byte("x")})
	r, err := c.NewReceiverForQueue(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	reason, desc := "Poison", "cannot parse"
	if err := r.DeadLetterMessage(ctx, receiveOne(t, r), &azservicebus.DeadLetterOptions{Reason: &reason, ErrorDescription: &desc}); err != nil {
		t.Fatal(err)
	}
	ms, err := d.Messages(ctx, q+"/$DeadLetterQueue")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ApplicationProperties["DeadLetterReason"] != reason || ms[0].ApplicationProperties["DeadLetterErrorDescription"] != desc {
		t.Errorf("dead-letter queue holds %+v", ms)
	}
	sendOne(t, c, q, &azservicebus.Message{Body: []byte("y")})
	if err := r.DeferMessage(ctx, receiveOne(t, r), nil); err != nil {
		t.Fatal(err)
	}
	if ms, _ := d.Messages(ctx, q); len(ms) != 1 || ms[0].State != "deferred" {
		t.Errorf("queue holds %+v, want one deferred message", ms)
	}
}

func TestTopicFansOutToSubscriptions(t *testing.T) {
	d, c := setup(t)
	ctx := ctxT(t)
	topic := name("t")
	if err := d.CreateTopic(ctx, topic, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b"} {
		if err := d.CreateSubscription(ctx, topic, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	sendOne(t, c, topic, &azservicebus.Message{Body: []byte("fan")})
	for _, s := range []string{"a", "b"} {
		r, err := c.NewReceiverForSubscription(topic, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := receiveOne(t, r)
		if string(m.Body) != "fan" {
			t.Errorf("%s: body %q", s, m.Body)
		}
		if err := r.CompleteMessage(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
		r.Close(ctx)
	}
}

func TestDuplicateDetectionDropsRepeatedMessageID(t *testing.T) {
	d, c := setup(t)
	ctx := ctxT(t)
	q := name("q")
	if err := d.CreateQueue(ctx, q, &sbdouble.EntityOptions{DuplicateDetection: time.Minute}); err != nil {
		t.Fatal(err)
	}
	id := "evt_dup"
	for range 3 {
		sendOne(t, c, q, &azservicebus.Message{Body: []byte("x"), MessageID: &id})
	}
	if ms, _ := d.Messages(ctx, q); len(ms) != 1 {
		t.Errorf("queue holds %d messages, want 1", len(ms))
	}
}

func TestMissingEntitiesAreNamed(t *testing.T) {
	_, c := setup(t)
	ctx := ctxT(t)
	s, err := c.NewSender("no-such-queue", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	err = s.SendMessage(ctx, &azservicebus.Message{Body: []byte("x")}, nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-queue") {
		t.Errorf("send to a missing queue: %v", err)
	}
	r, err := c.NewReceiverForSubscription("no-such-topic", "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	_, err = r.ReceiveMessages(ctx, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "no-such-topic") {
		t.Errorf("receive from a missing subscription: %v", err)
	}
}

func TestSessionEntityRefusesMessagesWithoutSessionID(t *testing.T) {
	d, c := setup(t)
	ctx := ctxT(t)
	q := name("q")
	if err := d.CreateQueue(ctx, q, &sbdouble.EntityOptions{RequiresSession: true}); err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSender(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte("x")}, nil); err == nil {
		t.Error("send without a session id to a session queue succeeded")
	}
	session := "cus_1"
	if err := s.SendMessage(ctx, &azservicebus.Message{Body: []byte("x"), SessionID: &session}, nil); err != nil {
		t.Fatalf("send with a session id: %v", err)
	}
	if ms, _ := d.Messages(ctx, q); len(ms) != 1 || ms[0].SessionID != session {
		t.Errorf("queue holds %+v", ms)
	}
}
