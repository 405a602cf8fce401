package awslambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/adapters/awslambda"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/amazonsqs" // awssqs://
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
	"github.com/hookline/hookline/sink"
)

// The two Lambda roles as one trace: the webhook function (a Function URL request whose headers
// carry a W3C traceparent, as a tracing proxy in front of it would add) sends to SQS (fauxqs);
// the message, received with its message attributes as Lambda's SQS event source mapping passes
// them, is the SQS event of the processor function, which fails it once (a batch item failure:
// SQS delivers it again after the visibility timeout) and writes it to the sink on the second
// delivery. Each role is invoked through its lambda.Handler with the JSON payload only, so
// nothing but the message carries the trace from one to the other: the webhook's SERVER span
// continues the request's trace, the send is its child, and both process spans are the send's
// children and link to it, with ApproximateReceiveCount 1 and 2.
func TestTraceFromFunctionURLToSQSProcessor(t *testing.T) {
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "lambda-traced", map[string]string{"VisibilityTimeout": "1"})
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Function A: the webhook.
	sender, err := channel.OpenSender(ctx, srv.QueueURL(q), &channel.SenderOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Shutdown(context.Background())
	h, err := stripehook.NewHandler([]string{secret}, sender, nil, &emitter.HandlerOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := awslambda.NewWebhook(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, eventID := sample(t, "customer.updated")
	const upstreamTrace, upstreamSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	payload := withHeader(t, serverlesstest.LambdaFunctionURLRequest("POST", p, stripehook.Sign(p, secret, time.Now())),
		"traceparent", "00-"+upstreamTrace+"-"+upstreamSpan+"-01")
	out, err := wh.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook answered %s (%v)", out, err)
	}

	// Function B: the SQS-triggered processor.
	mem := sink.NewMemory()
	var calls atomic.Int32
	proc, err := channel.NewProcessor(func(ctx context.Context, ev hookline.Event) error {
		if calls.Add(1) == 1 {
			return hookline.MarkTransient(errors.New("sink busy"))
		}
		return mem.Write(ctx, ev)
	}, &channel.ProcessorOptions{MaxAttempts: 1, MinBackoff: time.Millisecond, TracerProvider: tp,
		Subscription: srv.QueueURL(q)})
	if err != nil {
		t.Fatal(err)
	}
	sh, err := awslambda.NewSQSHandler(proc, nil)
	if err != nil {
		t.Fatal(err)
	}
	fn := lambda.NewHandler(sh.Handle)
	var attrTraceparent string // the traceparent message attribute, as the processor reads it
	for delivery := range 2 {
		m := receiveRecord(t, srv, q)
		if n := m.Attributes["ApproximateReceiveCount"]; n != string(rune('1'+delivery)) {
			t.Fatalf("delivery %d: ApproximateReceiveCount %s", delivery+1, n)
		}
		record := sqsEventRecord(m, q.ARN)
		_, md := awslambda.Message(&record)
		attrTraceparent = md[channel.MetaTraceparent]
		body, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{record}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := fn.Invoke(context.Background(), body)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"batchItemFailures":[]}` // the second delivery is written to the sink
		if delivery == 0 {
			want = `{"batchItemFailures":[{"itemIdentifier":"` + aws.ToString(m.MessageId) + `"}]}`
		}
		if string(out) != want {
			t.Fatalf("delivery %d: processor answered %s, want %s", delivery+1, out, want)
		}
	}
	if r, ok := mem.Get(customerID); !ok || r.Event.ID != eventID {
		t.Fatalf("sink holds %+v, want event %s", r.Event, eventID)
	}

	spans := oneTrace(t, rec, "send lambda-traced", "process lambda-traced", 2)
	if spans.server.SpanContext().TraceID().String() != upstreamTrace || spans.server.Parent().SpanID().String() != upstreamSpan {
		t.Errorf("server span in trace %s with parent %s, want the request's traceparent %s/%s",
			spans.server.SpanContext().TraceID(), spans.server.Parent().SpanID(), upstreamTrace, upstreamSpan)
	}
	if want := "00-" + upstreamTrace + "-" + spans.send.SpanContext().SpanID().String() + "-01"; attrTraceparent != want {
		t.Errorf("SQS message attribute traceparent %q, want %q (the send span)", attrTraceparent, want)
	}
	spanAttrs(t, spans.send, map[attribute.Key]string{"messaging.system": "aws_sqs",
		"messaging.destination.name": "lambda-traced", "messaging.message.id": eventID})
	for i, p := range spans.process {
		spanAttrs(t, p, map[attribute.Key]string{"messaging.message.id": eventID,
			"hookline.message.delivery_count": string(rune('1' + i)), "messaging.system": "aws_sqs"})
	}
	spanAttrs(t, spans.process[0], map[attribute.Key]string{"error.type": "transient"})
}

// withHeader adds the header name: value to a Function URL request payload.
func withHeader(t *testing.T, payload []byte, name, value string) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(payload, &req); err != nil {
		t.Fatal(err)
	}
	req["headers"].(map[string]any)[name] = value
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// receiveRecord receives the next message of q with all its attributes, as Lambda's event
// source mapping does, and leaves it on the queue (the mapping deletes it only when the function
// succeeds for it).
func receiveRecord(t *testing.T, srv *fauxqs.Server, q fauxqs.Queue) sqstypes.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		out, err := srv.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL),
			MaxNumberOfMessages: 1, WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatalf("receive from %s: %v", q.Name, err)
		}
		if len(out.Messages) == 1 {
			return out.Messages[0]
		}
	}
	t.Fatalf("no message on %s", q.Name)
	return sqstypes.Message{}
}

// sqsEventRecord is the record Lambda's SQS event source mapping passes for m.
func sqsEventRecord(m sqstypes.Message, queueARN string) events.SQSMessage {
	r := events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes, EventSource: "aws:sqs",
		EventSourceARN: queueARN, AWSRegion: fauxqs.Region, MessageAttributes: map[string]events.SQSMessageAttribute{},
	}
	for k, a := range m.MessageAttributes {
		r.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: a.StringValue, BinaryValue: a.BinaryValue,
			StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: aws.ToString(a.DataType)}
	}
	return r
}

// traced are the spans of one traced flow.
type traced struct {
	server, send sdktrace.ReadOnlySpan
	process      []sdktrace.ReadOnlySpan // in the order they ended
}

// oneTrace finds the server span, the span named send and the deliveries spans named process,
// and checks that they are one trace: the send is the server's child, every process span is the
// send's child and links to it, and every handle span is the child of a process span.
func oneTrace(t *testing.T, rec *tracetest.SpanRecorder, send, process string, deliveries int) traced {
	t.Helper()
	var tr traced
	var servers, sends, handles []sdktrace.ReadOnlySpan
	var all []string
	for _, sp := range rec.Ended() {
		all = append(all, sp.Name())
		switch {
		case sp.SpanKind() == trace.SpanKindServer:
			servers = append(servers, sp)
		case sp.Name() == send:
			sends = append(sends, sp)
		case sp.Name() == process:
			tr.process = append(tr.process, sp)
		case sp.Name() == "handle":
			handles = append(handles, sp)
		}
	}
	if len(servers) != 1 || len(sends) != 1 || len(tr.process) != deliveries || len(handles) != deliveries {
		t.Fatalf("%d server, %d send, %d process, %d handle spans; want 1, 1, %d, %d (all: %v)",
			len(servers), len(sends), len(tr.process), len(handles), deliveries, deliveries, all)
	}
	tr.server, tr.send = servers[0], sends[0]
	childOf(t, tr.send, tr.server)
	if tr.send.SpanKind() != trace.SpanKindProducer {
		t.Errorf("send span kind %v", tr.send.SpanKind())
	}
	ids := map[trace.SpanID]bool{}
	for _, p := range tr.process {
		childOf(t, p, tr.send)
		if p.SpanKind() != trace.SpanKindConsumer {
			t.Errorf("process span kind %v", p.SpanKind())
		}
		if l := p.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != tr.send.SpanContext().SpanID() {
			t.Errorf("process span links %v, want one to the send span %s", l, tr.send.SpanContext().SpanID())
		}
		ids[p.SpanContext().SpanID()] = true
	}
	for _, h := range handles {
		if !ids[h.Parent().SpanID()] || h.SpanContext().TraceID() != tr.server.SpanContext().TraceID() {
			t.Errorf("handle span's parent %s is not a process span of the trace", h.Parent().SpanID())
		}
	}
	return tr
}

func childOf(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("span %q: parent %s in trace %s, want %q %s in trace %s", child.Name(), child.Parent().SpanID(),
			child.SpanContext().TraceID(), parent.Name(), parent.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
}

func spanAttrs(t *testing.T, sp sdktrace.ReadOnlySpan, want map[attribute.Key]string) {
	t.Helper()
	got := map[attribute.Key]string{}
	for _, kv := range sp.Attributes() {
		got[kv.Key] = kv.Value.Emit()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %q: %s = %q, want %q (all: %v)", sp.Name(), k, got[k], v, got)
		}
	}
}
