package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/testenv"
	"github.com/hookline/hookline/internal/testsupport/tracecheck"
	"github.com/hookline/hookline/internal/testsupport/tracecheck/eventsource"
)

// TestTraceAcrossLambdaFunctionsUnderRIE builds this example and runs the webhook and the
// processor roles as two functions, each its own process under AWS's runtime interface emulator,
// with SQS served by fauxqs and OTEL_TRACES_EXPORTER=otlp aimed at an OTLP endpoint here, as a
// deployment sends its traces to a collector. Their spans are one trace: the webhook's SERVER
// span and its send span come from the webhook's process; from the processor's, a process span
// per delivery whose parent is that send span and which links to it, though nothing but the SQS
// record went from one process to the other. The message is delivered twice (SQS delivers at
// least once: here it is not deleted after the first invocation and comes back after its
// visibility timeout), so there are two process spans, with receive counts 1 and 2, linked to
// the one send; the second delivery is a duplicate the sink ignores. The spans are there when
// each invocation answers: the functions flush before they return.
func TestTraceAcrossLambdaFunctionsUnderRIE(t *testing.T) {
	rieBin, err := rieBinary()
	testenv.Require(t, "aws-lambda-rie (run scripts/install-lambda-rie.sh)", err)
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "traced-events", map[string]string{"VisibilityTimeout": "1"})
	bin := buildExample(t)
	db := filepath.Join(t.TempDir(), "hookline.db")
	otlp := tracecheck.StartReceiver(t)

	webhook := startRIE(t, rieBin, bin, append(otlp.Env("trace-webhook"), "HOOKLINE_ROLE=webhook",
		"HOOKLINE_CHANNEL="+srv.QueueURL(q), "STRIPE_WEBHOOK_SECRET="+secret)...)
	p := stripehook.SampleEvent("customer.updated", "cus_RIE_trace", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(p, nil)
	var resp events.LambdaFunctionURLResponse
	decode(t, webhook.invokeOK(t, functionURLRequest(p, stripehook.Sign(p, secret, time.Now()))), &resp)
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
	}

	processor := startRIE(t, rieBin, bin, append(otlp.Env("trace-processor"), "HOOKLINE_ROLE=processor",
		"HOOKLINE_SINK=sqlite://"+filepath.ToSlash(db))...)
	var m sqstypes.Message
	for delivery := 1; delivery <= 2; delivery++ {
		m = eventsource.SQSKept(t, srv, q)
		if m.MessageAttributes[channel.MetaTraceparent].StringValue == nil {
			t.Fatalf("message without a traceparent attribute: %v", m.MessageAttributes)
		}
		if n := m.Attributes["ApproximateReceiveCount"]; n != fmt.Sprint(delivery) {
			t.Fatalf("delivery %d: ApproximateReceiveCount %s", delivery, n)
		}
		out := processor.invokeOK(t, mustJSON(t, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(m, q.ARN)}}))
		if string(out) != `{"batchItemFailures":[]}` {
			t.Fatalf("delivery %d: processor answered %s", delivery, out)
		}
	}
	if _, err := srv.SQS().DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL),
		ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if got := storedEventID(t, db, "cus_RIE_trace"); got != want.ID {
		t.Errorf("sink has event %q, want %q", got, want.ID)
	}

	flow := tracecheck.ExportedFlow(t, otlp.Of("trace-webhook"), otlp.Of("trace-processor"), "send traced-events", 2, false)
	flow.WantAttrs(t, map[string]string{"messaging.system": "aws_sqs", "messaging.message.id": want.ID},
		map[string]string{"messaging.message.id": want.ID, "messaging.system": "aws_sqs"}, "hookline.message.delivery_count")
}
