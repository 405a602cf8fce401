package main

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Invocation payloads shaped as AWS documents them for each trigger.

// functionURLRequest is a request to a Function URL (payload format 2.0) carrying a Stripe
// delivery, its body base64-encoded as Function URLs send JSON bodies.
func functionURLRequest(body []byte, sig string) []byte {
	return []byte(`{
  "version": "2.0",
  "rawPath": "/",
  "rawQueryString": "",
  "headers": {
    "content-type": "application/json; charset=utf-8",
    "stripe-signature": ` + quote(sig) + `,
    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "host": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.eu-west-1.on.aws",
    "x-forwarded-proto": "https",
    "x-forwarded-for": "54.187.174.169"
  },
  "requestContext": {
    "accountId": "anonymous",
    "apiId": "abcdefghijklmnopqrstuvwxyz0123456",
    "domainName": "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.eu-west-1.on.aws",
    "domainPrefix": "abcdefghijklmnopqrstuvwxyz0123456",
    "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "54.187.174.169",
      "userAgent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
    "requestId": "6f1c2b7e-3d4a-4b5c-9d8e-0f1a2b3c4d5e",
    "routeKey": "$default",
    "stage": "$default",
    "time": "01/Mar/2024:12:00:01 +0000",
    "timeEpoch": 1709294401000
  },
  "body": ` + quote(base64.StdEncoding.EncodeToString(body)) + `,
  "isBase64Encoded": true
}`)
}

// eventBridgeEvent is an EventBridge event as a rule delivers it to Lambda, with a Stripe event
// as its detail.
func eventBridgeEvent(source, typ string, detail []byte) []byte {
	return []byte(`{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": ` + quote(typ) + `,
  "source": ` + quote(source) + `,
  "account": "123456789012",
  "time": "2024-03-01T12:00:01Z",
  "region": "eu-west-1",
  "resources": [],
  "detail": ` + string(detail) + `
}`)
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

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
