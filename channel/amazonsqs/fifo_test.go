package amazonsqs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/amazonsqs"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
)

var fifo = map[string]string{"FifoQueue": "true", "VisibilityTimeout": "2"}

func newEvent(id, subject string) hookline.Event {
	return hookline.Event{ID: id, Source: "stripe", Type: "customer.updated", Subject: subject,
		Data: []byte(`{"id":"` + subject + `"}`)}
}

func openSender(t *testing.T, u string, opts *channel.SenderOptions) *channel.Sender {
	t.Helper()
	s, err := channel.OpenSender(context.Background(), u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

func openReceiver(t *testing.T, u string) *channel.Receiver {
	t.Helper()
	r, err := channel.OpenReceiver(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown(context.Background()) })
	return r
}

func send(t *testing.T, s *channel.Sender, evs ...hookline.Event) {
	t.Helper()
	for _, ev := range evs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.Send(ctx, ev)
		cancel()
		if err != nil {
			t.Fatalf("send %s: %v", ev.ID, err)
		}
	}
}

// receive returns the next message and its event id, or "" and nil when none comes within wait.
func receive(t *testing.T, r *channel.Receiver, wait time.Duration) (*pubsub.Message, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := r.Receive(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	ev, err := channel.Decode(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m, ev.ID
}

// TestFIFODeduplicatesByEventID sends one event twice (as after a Stripe retry): the FIFO queue
// delivers it once, with the event id and subject as deduplication and group id, and the
// message attributes hold only the CloudEvents metadata.
func TestFIFODeduplicatesByEventID(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "dedup.fifo", fifo)
	s := openSender(t, srv.QueueURL(q), &channel.SenderOptions{Deduplicate: true, OrderBySubject: true})
	r := openReceiver(t, srv.QueueURL(q)+"&raw=true")
	ev, other := newEvent("evt_dup", "cus_1"), newEvent("evt_other", "cus_2")
	send(t, s, ev, ev, other, ev)
	got := map[string]int{}
	for {
		m, id := receive(t, r, 3*time.Second)
		if m == nil {
			break
		}
		got[id]++
		if id == ev.ID {
			checkFIFOMessage(t, m, ev)
		}
		m.Ack()
	}
	if got[ev.ID] != 1 || got[other.ID] != 1 || len(got) != 2 {
		t.Fatalf("deliveries by event id: %v, want each once", got)
	}
}

func checkFIFOMessage(t *testing.T, m *pubsub.Message, ev hookline.Event) {
	t.Helper()
	var sm sqstypes.Message
	if !m.As(&sm) {
		t.Fatal("received message is not an SQS message")
	}
	if g := sm.Attributes["MessageGroupId"]; g != ev.Subject {
		t.Errorf("MessageGroupId %q, want %q", g, ev.Subject)
	}
	if d := sm.Attributes["MessageDeduplicationId"]; d != ev.ID {
		t.Errorf("MessageDeduplicationId %q, want %q", d, ev.ID)
	}
	for k := range m.Metadata {
		if k != "content-type" && !strings.HasPrefix(k, "ce_") {
			t.Errorf("unexpected message attribute %q", k)
		}
	}
}

// TestFIFOOrdersBySubject interleaves events about three objects and checks that each object's
// events arrive in the order they were sent.
func TestFIFOOrdersBySubject(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "order.fifo", fifo)
	s := openSender(t, srv.QueueURL(q), &channel.SenderOptions{Deduplicate: true, OrderBySubject: true})
	const perSubject = 8
	for i := 0; i < perSubject; i++ {
		for _, sub := range []string{"cus_a", "cus_b", "cus_c"} {
			send(t, s, newEvent(fmt.Sprintf("evt_%s_%02d", sub, i), sub))
		}
	}
	r := openReceiver(t, srv.QueueURL(q)+"&raw=true")
	next := map[string]int{}
	for n := 0; n < 3*perSubject; n++ {
		m, id := receive(t, r, 10*time.Second)
		if m == nil {
			t.Fatalf("only %d of %d events arrived", n, 3*perSubject)
		}
		sub, seq := id[len("evt_"):len("evt_cus_a")], id[len(id)-2:]
		if want := fmt.Sprintf("%02d", next[sub]); seq != want {
			t.Fatalf("%s: got event %s, want number %s next", sub, id, want)
		}
		next[sub]++
		m.Ack()
	}
}

// TestSNSFIFOToSQSFIFO sends through a FIFO topic to a FIFO queue subscribed with raw delivery:
// the topic deduplicates and the group id reaches the queue.
func TestSNSFIFOToSQSFIFO(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "fanout.fifo", fifo)
	arn := srv.CreateTopic(t, "fanout.fifo", map[string]string{"FifoTopic": "true"})
	srv.Subscribe(t, arn, q, true)
	s := openSender(t, srv.TopicURL(arn), &channel.SenderOptions{Deduplicate: true, OrderBySubject: true})
	r := openReceiver(t, srv.QueueURL(q)+"&raw=true")
	ev := newEvent("evt_sns_dup", "cus_sns")
	send(t, s, ev, ev)
	m, id := receive(t, r, 10*time.Second)
	if id != ev.ID {
		t.Fatalf("received %q, want %s", id, ev.ID)
	}
	checkFIFOMessage(t, m, ev)
	m.Ack()
	if m, id := receive(t, r, 3*time.Second); m != nil {
		t.Fatalf("the duplicate %s was delivered too", id)
	}
}

// TestFIFOWithoutGroupFails shows why FIFO senders need OrderBySubject: SQS refuses messages
// without a group id.
func TestFIFOWithoutGroupFails(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "nogroup.fifo", fifo)
	s := openSender(t, srv.QueueURL(q), &channel.SenderOptions{Deduplicate: true})
	err := s.Send(context.Background(), newEvent("evt_nogroup", "cus_1"))
	if err == nil || !strings.Contains(err.Error(), "MessageGroupId") {
		t.Fatalf("send to a FIFO queue without a group id: %v, want an error naming MessageGroupId", err)
	}
}

// TestSNSEnvelopeReachesTheQueue checks that without raw delivery the SQS message really is SNS's
// JSON envelope, which the suite's sns-envelope harness relies on gocloud to unwrap.
func TestSNSEnvelopeReachesTheQueue(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "envelope", nil)
	arn := srv.CreateTopic(t, "envelope", nil)
	srv.Subscribe(t, arn, q, false)
	send(t, openSender(t, srv.TopicURL(arn), nil), newEvent("evt_env", "cus_env"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := srv.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), WaitTimeSeconds: 5})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %d messages, %v", len(out.Messages), err)
	}
	body := aws.ToString(out.Messages[0].Body)
	if !strings.Contains(body, `"Type":"Notification"`) || !strings.Contains(body, `"TopicArn":"`+arn+`"`) {
		t.Fatalf("body is not an SNS envelope: %.200s", body)
	}
}

// TestFIFODeadLettersToStandardQueue runs a consumer on a FIFO queue whose handler always fails:
// after MaxDeliveries (counted by SQS) it dead-letters to a standard queue, with no more message
// attributes than the 10 SQS allows (the emulator does not enforce that limit).
func TestFIFODeadLettersToStandardQueue(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "work.fifo", fifo)
	dlq := srv.CreateQueue(t, "work-dlq", nil)
	s := openSender(t, srv.QueueURL(q), &channel.SenderOptions{Deduplicate: true, OrderBySubject: true})
	c, err := channel.NewConsumer(openReceiver(t, srv.QueueURL(q)+"&raw=true"),
		func(context.Context, hookline.Event) error { return errors.New("always fails") },
		&channel.ConsumerOptions{MaxAttempts: 1, MaxDeliveries: 2, DeadLetter: openSender(t, srv.QueueURL(dlq), nil),
			MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	}()
	ev := newEvent("evt_dl", "cus_dl")
	send(t, s, ev)
	m, id := receive(t, openReceiver(t, srv.QueueURL(dlq)+"&raw=true"), 15*time.Second)
	if id != ev.ID {
		t.Fatalf("dead-letter queue: got %q, want %s", id, ev.ID)
	}
	m.Ack()
	if got := m.Metadata[channel.MetaDeadLetterDelivery]; got != "3" {
		t.Errorf("dead-letter delivery %q, want 3 (metadata %v)", got, m.Metadata)
	}
	if n := len(m.Metadata); n > 10 {
		t.Errorf("dead-lettered message has %d attributes; SQS allows 10: %v", n, m.Metadata)
	}
}

// TestFIFODeadLetterQueue dead-letters to a FIFO queue: the dead-letter sender's features apply to
// forwarded messages too (group and deduplication ids from the ce_subject and ce_id metadata),
// so SQS accepts them.
func TestFIFODeadLetterQueue(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "work2.fifo", fifo)
	dlq := srv.CreateQueue(t, "work2-dlq.fifo", fifo)
	fifoOpts := &channel.SenderOptions{Deduplicate: true, OrderBySubject: true}
	c, err := channel.NewConsumer(openReceiver(t, srv.QueueURL(q)+"&raw=true"),
		func(context.Context, hookline.Event) error { return hookline.MarkPermanent(errors.New("invalid")) },
		&channel.ConsumerOptions{DeadLetter: openSender(t, srv.QueueURL(dlq), fifoOpts), DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	}()
	ev := newEvent("evt_fifo_dl", "cus_fifo_dl")
	send(t, openSender(t, srv.QueueURL(q), fifoOpts), ev)
	m, id := receive(t, openReceiver(t, srv.QueueURL(dlq)+"&raw=true"), 15*time.Second)
	m.Ack()
	if id != ev.ID || m.Metadata[channel.MetaDeadLetterKind] != "permanent" {
		t.Fatalf("dead letter %q with metadata %v", id, m.Metadata)
	}
}
