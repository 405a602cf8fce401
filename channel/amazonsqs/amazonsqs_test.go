package amazonsqs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/awssnssqs"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
)

var both = channel.SenderOptions{Deduplicate: true, OrderBySubject: true}

func event() hookline.Event {
	return hookline.Event{ID: "evt_1PqR", Type: "customer.updated", Subject: "cus_9s6XKzkNRiz8i3"}
}

// asSQS answers a BeforeSend's As like gocloud's SQS topic does.
func asSQS(e *sqstypes.SendMessageBatchRequestEntry) func(any) bool {
	return func(i any) bool {
		p, ok := i.(**sqstypes.SendMessageBatchRequestEntry)
		if ok {
			*p = e
		}
		return ok
	}
}

// asSNS answers a BeforeSend's As like gocloud's SNS topic does (for the batch entry).
func asSNS(e *snstypes.PublishBatchRequestEntry) func(any) bool {
	return func(i any) bool {
		p, ok := i.(**snstypes.PublishBatchRequestEntry)
		if ok {
			*p = e
		}
		return ok
	}
}

func TestPrepareSetsSQSAndSNSEntries(t *testing.T) {
	ev := event()
	m := &pubsub.Message{Metadata: map[string]string{"ce_id": ev.ID}}
	if err := prepare(ev, both, m); err != nil {
		t.Fatal(err)
	}
	var q sqstypes.SendMessageBatchRequestEntry
	if err := m.BeforeSend(asSQS(&q)); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(q.MessageGroupId) != ev.Subject || aws.ToString(q.MessageDeduplicationId) != ev.ID {
		t.Errorf("SQS entry group %q dedup %q", aws.ToString(q.MessageGroupId), aws.ToString(q.MessageDeduplicationId))
	}
	var n snstypes.PublishBatchRequestEntry
	if err := m.BeforeSend(asSNS(&n)); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(n.MessageGroupId) != ev.Subject || aws.ToString(n.MessageDeduplicationId) != ev.ID {
		t.Errorf("SNS entry group %q dedup %q", aws.ToString(n.MessageGroupId), aws.ToString(n.MessageDeduplicationId))
	}
	if len(m.Metadata) != 1 {
		t.Errorf("prepare changed the metadata (message attributes): %v", m.Metadata)
	}
}

func TestPrepareEachOptionAlone(t *testing.T) {
	ev := event()
	for _, opts := range []channel.SenderOptions{{Deduplicate: true}, {OrderBySubject: true}} {
		m := &pubsub.Message{}
		if err := prepare(ev, opts, m); err != nil {
			t.Fatal(err)
		}
		var q sqstypes.SendMessageBatchRequestEntry
		if err := m.BeforeSend(asSQS(&q)); err != nil {
			t.Fatal(err)
		}
		if (q.MessageGroupId != nil) != opts.OrderBySubject || (q.MessageDeduplicationId != nil) != opts.Deduplicate {
			t.Errorf("%+v: group %v, dedup %v", opts, q.MessageGroupId, q.MessageDeduplicationId)
		}
	}
}

func TestPrepareGroupWithoutSubjectIsTheEventID(t *testing.T) {
	ev := event()
	ev.Subject = ""
	m := &pubsub.Message{}
	if err := prepare(ev, channel.SenderOptions{OrderBySubject: true}, m); err != nil {
		t.Fatal(err)
	}
	var q sqstypes.SendMessageBatchRequestEntry
	m.BeforeSend(asSQS(&q))
	if got := aws.ToString(q.MessageGroupId); got != ev.ID {
		t.Errorf("group %q, want the event id %q", got, ev.ID)
	}
}

func TestPrepareKeepsTheMessagesBeforeSend(t *testing.T) {
	m := &pubsub.Message{BeforeSend: func(as func(any) bool) error {
		var q *sqstypes.SendMessageBatchRequestEntry
		if as(&q) {
			q.MessageGroupId = aws.String("override")
		}
		return errors.New("from the message")
	}}
	if err := prepare(event(), both, m); err != nil {
		t.Fatal(err)
	}
	var q sqstypes.SendMessageBatchRequestEntry
	if err := m.BeforeSend(asSQS(&q)); err == nil || err.Error() != "from the message" {
		t.Errorf("BeforeSend error %v, want the message's own", err)
	}
	if got := aws.ToString(q.MessageGroupId); got != "override" {
		t.Errorf("group %q: the message's BeforeSend must run last", got)
	}
}

func TestPrepareRefusesIDsSQSRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   func(*hookline.Event)
		opts channel.SenderOptions
	}{
		{"space in subject", func(e *hookline.Event) { e.Subject = "cus 1" }, channel.SenderOptions{OrderBySubject: true}},
		{"non-ASCII subject", func(e *hookline.Event) { e.Subject = "cus_ü" }, channel.SenderOptions{OrderBySubject: true}},
		{"long subject", func(e *hookline.Event) { e.Subject = strings.Repeat("x", 129) }, channel.SenderOptions{OrderBySubject: true}},
		{"empty id", func(e *hookline.Event) { e.ID = "" }, channel.SenderOptions{Deduplicate: true}},
		{"control character in id", func(e *hookline.Event) { e.ID = "evt\n1" }, channel.SenderOptions{Deduplicate: true}},
	} {
		ev := event()
		tc.ev(&ev)
		if err := prepare(ev, tc.opts, &pubsub.Message{}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	ev := event()
	ev.Subject = strings.Repeat("x", 128)
	if err := prepare(ev, both, &pubsub.Message{}); err != nil {
		t.Errorf("128 characters: %v", err)
	}
}

func TestBeforeSendFailsForOtherDrivers(t *testing.T) {
	m := &pubsub.Message{}
	if err := prepare(event(), both, m); err != nil {
		t.Fatal(err)
	}
	if err := m.BeforeSend(func(any) bool { return false }); err == nil {
		t.Error("no error for a driver without SQS or SNS entries")
	}
}

// Topics opened without a URL are told apart by the SDK client their As exposes (no request is
// made: a topic connects on its first send).
func TestDetect(t *testing.T) {
	ctx := context.Background()
	mem, err := pubsub.OpenTopic(ctx, "mem://awsfeatures-detect")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Shutdown(ctx)
	q := awssnssqs.OpenSQSTopic(ctx, sqs.New(sqs.Options{Region: "us-east-2"}), "https://sqs.us-east-2.amazonaws.com/1/q", nil)
	defer q.Shutdown(ctx)
	n := awssnssqs.OpenSNSTopic(ctx, sns.New(sns.Options{Region: "us-east-2"}), "arn:aws:sns:us-east-2:1:t", nil)
	defer n.Shutdown(ctx)
	for _, c := range []struct {
		name     string
		topic    *pubsub.Topic
		sqs, sns bool
	}{{"mem", mem, false, false}, {"SQS", q, true, false}, {"SNS", n, false, true}} {
		if isSQSTopic(c.topic) != c.sqs || isSNSTopic(c.topic) != c.sns {
			t.Errorf("%s topic: isSQSTopic %t, isSNSTopic %t; want %t, %t", c.name,
				isSQSTopic(c.topic), isSNSTopic(c.topic), c.sqs, c.sns)
		}
	}
}

func TestDeliveryCountIgnoresOtherDrivers(t *testing.T) {
	ctx := context.Background()
	topic, err := pubsub.OpenTopic(ctx, "mem://awsfeatures-count")
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Shutdown(ctx)
	sub, err := pubsub.OpenSubscription(ctx, "mem://awsfeatures-count")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Shutdown(ctx)
	if err := topic.Send(ctx, &pubsub.Message{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Ack()
	if n, ok := DeliveryCount(m); ok {
		t.Errorf("DeliveryCount of a mem:// message = %d, true", n)
	}
}
