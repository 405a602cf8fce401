package main

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/internal/testsupport/serverlesstest"
)

// Invocation payloads shaped as AWS documents them for each trigger.

// functionURLRequest is a request to a Function URL (payload format 2.0) carrying a Stripe
// delivery, its body base64-encoded as Function URLs send JSON bodies.
func functionURLRequest(body []byte, sig string) []byte {
	return serverlesstest.LambdaFunctionURLRequest("POST", body, sig)
}

// eventBridgeEvent is an EventBridge event as a rule delivers it to Lambda, with a Stripe event
// as its detail.
func eventBridgeEvent(source, typ string, detail []byte) []byte {
	return serverlesstest.EventBridgeEvent(source, typ, detail)
}

// sqsRecord turns a message received from a queue into the record Lambda's SQS event source
// mapping would pass for it.
func sqsRecord(m sqstypes.Message, queueARN string) events.SQSMessage {
	r := events.SQSMessage{
		MessageId: deref(m.MessageId), ReceiptHandle: deref(m.ReceiptHandle), Body: deref(m.Body),
		Md5OfBody: deref(m.MD5OfBody), Attributes: m.Attributes, EventSource: "aws:sqs",
		EventSourceARN: queueARN, AWSRegion: "us-east-1",
		MessageAttributes: map[string]events.SQSMessageAttribute{},
	}
	for k, a := range m.MessageAttributes {
		r.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: a.StringValue, BinaryValue: a.BinaryValue,
			StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: deref(a.DataType)}
	}
	return r
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
