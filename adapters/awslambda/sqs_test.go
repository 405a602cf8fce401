package awslambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/adapters/awslambda"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
)

// sqsRecord is one record of an SQS event as Lambda documents it, for a message that
// package channel sent through gocloud (the CloudEvents body and its metadata as attributes).
func sqsRecord(t *testing.T, n int, queue string, receiveCount int) (string, string) {
	t.Helper()
	p := stripehook.SampleEvent("customer.updated", customerID+strconv.Itoa(n), created.Add(time.Duration(n)*time.Second))
	ev, err := stripehook.DecodeUnverified(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := channel.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	id := "059f36b4-87a3-44ab-83d2-66197516004" + strconv.Itoa(n)
	return id, `{
      "messageId": ` + quote(id) + `,
      "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
      "body": ` + quote(string(body)) + `,
      "attributes": {
        "ApproximateReceiveCount": ` + quote(strconv.Itoa(receiveCount)) + `,
        "SentTimestamp": "1545082649183",
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": "1545082649185"
      },
      "messageAttributes": {
        "ce_id": {"stringValue": ` + quote(ev.ID) + `, "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "ce_type": {"stringValue": "customer.updated", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "ce_subject": {"stringValue": ` + quote(ev.Subject) + `, "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "content-type": {"stringValue": "application%2Fcloudevents+json%3B%20charset=utf-8", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
      },
      "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
      "eventSource": "aws:sqs",
      "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:` + queue + `",
      "awsRegion": "eu-west-1"
    }`
}

// sqsBatch returns an SQS event of n records and their message ids.
func sqsBatch(t *testing.T, n int, queue string) (events.SQSEvent, []string) {
	t.Helper()
	ids := make([]string, n)
	raw := `{"Records": [`
	for i := range n {
		var rec string
		ids[i], rec = sqsRecord(t, i, queue, i+1)
		if i > 0 {
			raw += ","
		}
		raw += rec
	}
	var ev events.SQSEvent
	if err := json.Unmarshal([]byte(raw+"]}"), &ev); err != nil {
		t.Fatal(err)
	}
	return ev, ids
}

// failingSubject is a sink handler that fails permanently for one subject and records the rest.
type failingSubject struct {
	subject string
	mu      sync.Mutex
	written []string
}

func (f *failingSubject) write(_ context.Context, ev hookline.Event) error {
	if ev.Subject == f.subject {
		return hookline.MarkPermanent(errors.New("sink refuses this record"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written = append(f.written, ev.Subject)
	return nil
}

func newSQSHandler(t *testing.T, h channel.Handler, concurrency int) *awslambda.SQSHandler {
	t.Helper()
	// No dead-letter channel: a permanent failure goes back to the queue (and, in the end, to its
	// redrive policy's dead-letter queue).
	p, err := channel.NewProcessor(h, &channel.ProcessorOptions{MaxAttempts: 1, MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, err := awslambda.NewSQSHandler(p, &awslambda.SQSOptions{Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func failures(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestSQSBatchReportsOnlyTheFailedMessage(t *testing.T) {
	for _, concurrency := range []int{1, 4} {
		sink := &failingSubject{subject: customerID + "2"}
		h := newSQSHandler(t, sink.write, concurrency)
		ev, ids := sqsBatch(t, 5, "stripe-events")
		resp, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := failures(resp); len(got) != 1 || got[0] != ids[2] {
			t.Errorf("concurrency %d: batchItemFailures = %v, want [%s]", concurrency, got, ids[2])
		}
		if len(sink.written) != 4 {
			t.Errorf("concurrency %d: wrote %v, want the 4 others", concurrency, sink.written)
		}
		out, _ := json.Marshal(resp)
		if want := `{"batchItemFailures":[{"itemIdentifier":"` + ids[2] + `"}]}`; string(out) != want {
			t.Errorf("response JSON %s, want %s", out, want)
		}
	}
}

func TestSQSFIFOStopsAtTheFirstFailure(t *testing.T) {
	sink := &failingSubject{subject: customerID + "1"}
	h := newSQSHandler(t, sink.write, 4)
	ev, ids := sqsBatch(t, 4, "stripe-events.fifo")
	resp, _ := h.Handle(context.Background(), ev)
	if got := failures(resp); len(got) != 3 || got[0] != ids[1] || got[1] != ids[2] || got[2] != ids[3] {
		t.Errorf("batchItemFailures = %v, want %v", got, ids[1:])
	}
	if len(sink.written) != 1 || sink.written[0] != customerID+"0" {
		t.Errorf("wrote %v, want only the first", sink.written)
	}
}

func TestSQSAllSucceedReportsEmptyList(t *testing.T) {
	h := newSQSHandler(t, (&failingSubject{}).write, 0)
	ev, _ := sqsBatch(t, 3, "stripe-events")
	resp, _ := h.Handle(context.Background(), ev)
	out, _ := json.Marshal(resp)
	if string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("response %s", out)
	}
}

// recordingProcessor keeps what the handler passes to Process.
type recordingProcessor struct {
	body     []byte
	metadata map[string]string
	delivery int
}

func (r *recordingProcessor) Process(_ context.Context, body []byte, md map[string]string, delivery int) error {
	r.body, r.metadata, r.delivery = body, md, delivery
	return nil
}

func TestSQSMetadataAndReceiveCount(t *testing.T) {
	rp := &recordingProcessor{}
	h, err := awslambda.NewSQSHandler(rp, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := sqsBatch(t, 3, "stripe-events")
	ev.Records = ev.Records[2:] // ApproximateReceiveCount 3
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if rp.delivery != 3 || rp.metadata["content-type"] != channel.ContentType || rp.metadata["ce_type"] != "customer.updated" {
		t.Errorf("delivery %d, metadata %v", rp.delivery, rp.metadata)
	}
	if string(rp.body) != ev.Records[0].Body {
		t.Error("body changed")
	}
}

func TestSQSMessageUndoesGocloudEncoding(t *testing.T) {
	s := func(v string) events.SQSMessageAttribute {
		return events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
	}
	r := &events.SQSMessage{
		Body: base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 'x'}),
		MessageAttributes: map[string]events.SQSMessageAttribute{
			"base64encoded":      s("true"),
			"a__0x20__b":         s("x%20y"),
			"binary":             {BinaryValue: []byte{1}, DataType: "Binary"},
			"hookline-dl-reason": s("100%"), // not a valid escape: kept as is
		},
		Attributes: map[string]string{"ApproximateReceiveCount": "not a number"},
	}
	body, md := awslambda.Message(r)
	if string(body) != "\xff\x00x" {
		t.Errorf("body %q", body)
	}
	if len(md) != 2 || md["a b"] != "x y" || md["hookline-dl-reason"] != "100%" {
		t.Errorf("metadata %v", md)
	}
	if n := awslambda.ReceiveCount(r); n != 0 {
		t.Errorf("ReceiveCount = %d, want 0", n)
	}
}

// panicky panics on every message.
type panicky struct{}

func (panicky) Process(context.Context, []byte, map[string]string, int) error { panic("boom") }

func TestSQSPanicIsAFailure(t *testing.T) {
	h, _ := awslambda.NewSQSHandler(panicky{}, &awslambda.SQSOptions{Concurrency: 2})
	ev, ids := sqsBatch(t, 2, "stripe-events")
	resp, _ := h.Handle(context.Background(), ev)
	if got := failures(resp); len(got) != 2 || got[0] != ids[0] || got[1] != ids[1] {
		t.Errorf("batchItemFailures = %v", got)
	}
	if _, err := awslambda.NewSQSHandler(nil, nil); err == nil {
		t.Error("NewSQSHandler accepted a nil processor")
	}
}
