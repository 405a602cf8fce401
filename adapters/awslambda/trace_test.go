package awslambda_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.opentelemetry.io/otel/attribute"

	"github.com/hookline/hookline/adapters/awslambda"
	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/amazonsqs" // awssqs://
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/eventsource"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/webhookflow"
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
	rec, tp := tracecheck.NewRecorder()
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
	failOnce, _ := webhookflow.FailOnce(mem)
	proc, err := channel.NewProcessor(failOnce, &channel.ProcessorOptions{MaxAttempts: 1, MinBackoff: time.Millisecond,
		TracerProvider: tp, Subscription: srv.QueueURL(q)})
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
		m := eventsource.SQSKept(t, srv, q)
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

	spans := tracecheck.OneTrace(t, rec.Ended(), "send lambda-traced", "process lambda-traced", 2)
	if spans.Server.SpanContext().TraceID().String() != upstreamTrace || spans.Server.Parent().SpanID().String() != upstreamSpan {
		t.Errorf("server span in trace %s with parent %s, want the request's traceparent %s/%s",
			spans.Server.SpanContext().TraceID(), spans.Server.Parent().SpanID(), upstreamTrace, upstreamSpan)
	}
	if want := tracecheck.Traceparent(spans.Send); attrTraceparent != want {
		t.Errorf("SQS message attribute traceparent %q, want %q (the send span)", attrTraceparent, want)
	}
	spans.WantRedelivered(t, map[attribute.Key]string{"messaging.system": "aws_sqs",
		"messaging.destination.name": "lambda-traced", "messaging.message.id": eventID},
		map[attribute.Key]string{"messaging.message.id": eventID, "messaging.system": "aws_sqs"},
		"hookline.message.delivery_count")
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
