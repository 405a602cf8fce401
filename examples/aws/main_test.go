package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/swsign"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

const (
	secret       = "whsec_rie_test_5ecret"
	stripeSource = "aws.partner/stripe.com/ed_test_61RzUyhMkfVsX5NTJ16RzNyQE0SQNvfGbrMe1cFmTCEK"
)

func TestBuildRefusesIncompleteConfig(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no role":                 {},
		"unknown role":            {"HOOKLINE_ROLE": "consumer"},
		"webhook without secret":  {"HOOKLINE_ROLE": "webhook", "HOOKLINE_CHANNEL": "awssqs://sqs.eu-west-1.amazonaws.com/1/q?region=eu-west-1"},
		"webhook without channel": {"HOOKLINE_ROLE": "webhook", "STRIPE_WEBHOOK_SECRET": secret},
		"webhook on mem://":       {"HOOKLINE_ROLE": "webhook", "STRIPE_WEBHOOK_SECRET": secret, "HOOKLINE_CHANNEL": "mem://x"},
		"processor without sink":  {"HOOKLINE_ROLE": "processor"},
		"processor mem dead letter": {"HOOKLINE_ROLE": "processor", "HOOKLINE_SINK": "discard://",
			"HOOKLINE_DEADLETTER": "mem://dl"},
		"eventbridge without channel": {"HOOKLINE_ROLE": "eventbridge"},
		"eventbridge foreign source": {"HOOKLINE_ROLE": "eventbridge", "HOOKLINE_CHANNEL": "mem://y",
			"STRIPE_EVENT_SOURCE": "my.app"},
	} {
		_, err := build(context.Background(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the secret: %v", name, err)
		}
	}
}

// TestLambdaUnderRIE builds this example and runs each role under AWS's runtime interface
// emulator, with SQS served by fauxqs: a signed delivery through the Function URL reaches the
// queue; the processor writes that message to SQLite and reports exactly the failing message
// of its batch; with a dead-letter queue it dead-letters that message instead; an
// EventBridge-wrapped Stripe event reaches the queue and a foreign one is refused.
func TestLambdaUnderRIE(t *testing.T) {
	rieBin, err := rieBinary()
	testenv.Require(t, "aws-lambda-rie (run scripts/install-lambda-rie.sh)", err)
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "stripe-events", nil)
	dlq := srv.CreateQueue(t, "stripe-events-dlq", nil)
	bin := buildExample(t)
	db := filepath.Join(t.TempDir(), "hookline.db")

	var msg sqstypes.Message
	ok := t.Run("webhook", func(t *testing.T) {
		fn := startRIE(t, rieBin, bin, "HOOKLINE_ROLE=webhook", "HOOKLINE_CHANNEL="+srv.QueueURL(q),
			"STRIPE_WEBHOOK_SECRET="+secret)
		msg = checkWebhook(t, fn, srv, q)
	})
	ok = ok && t.Run("processor", func(t *testing.T) {
		fn := startRIE(t, rieBin, bin, "HOOKLINE_ROLE=processor", "HOOKLINE_SINK=sqlite://"+filepath.ToSlash(db))
		checkProcessor(t, fn, msg, q.ARN, db)
	})
	ok = ok && t.Run("processor with dead-letter queue", func(t *testing.T) {
		fn := startRIE(t, rieBin, bin, "HOOKLINE_ROLE=processor", "HOOKLINE_SINK=sqlite://"+filepath.ToSlash(db),
			"HOOKLINE_DEADLETTER="+srv.QueueURL(dlq))
		checkDeadLetter(t, fn, srv, q.ARN, dlq)
	})
	ok = ok && t.Run("eventbridge", func(t *testing.T) {
		fn := startRIE(t, rieBin, bin, "HOOKLINE_ROLE=eventbridge", "HOOKLINE_CHANNEL="+srv.QueueURL(q))
		checkEventBridge(t, fn, srv, q)
	})
	_ = ok && t.Run("standard webhooks", func(t *testing.T) {
		checkStandardWebhooks(t, rieBin, bin, srv, q, db)
	})
}

// checkStandardWebhooks carries a Standard Webhooks delivery, signed per the specification by
// the test's own signer, through the webhook role (HOOKLINE_SOURCE=standardwebhooks://) to the
// queue and through the processor role to the sink's standardwebhooks_objects.
func checkStandardWebhooks(t *testing.T, rieBin, bin string, srv *fauxqs.Server, q fauxqs.Queue, db string) {
	swSecret := swsign.Secret()
	webhook := startRIE(t, rieBin, bin, "HOOKLINE_ROLE=webhook", "HOOKLINE_CHANNEL="+srv.QueueURL(q),
		"HOOKLINE_SOURCE=standardwebhooks://", "HOOKLINE_WEBHOOK_SECRET="+swSecret)
	body := swsign.Payload("user.updated", "user_RIE1", "Ada", time.Now().Add(-time.Second))
	var resp events.LambdaFunctionURLResponse
	for _, c := range []struct {
		secret string
		want   int
	}{{swsign.Secret(), 400}, {swSecret, 200}} {
		req := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", Headers: map[string]string{"content-type": "application/json"},
			Body: string(body), RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/"}}}
		for k, v := range swsign.Headers(c.secret, "msg_RIE1", time.Now(), body) {
			req.Headers[strings.ToLower(k)] = v[0]
		}
		decode(t, webhook.invokeOK(t, mustJSON(t, req)), &resp)
		if resp.StatusCode != c.want {
			t.Fatalf("delivery signed with the %s secret: %d %s, want %d", map[int]string{400: "wrong", 200: "right"}[c.want], resp.StatusCode, resp.Body, c.want)
		}
	}
	m := receiveOne(t, srv, q)
	processor := startRIE(t, rieBin, bin, "HOOKLINE_ROLE=processor", "HOOKLINE_SINK=sqlite://"+filepath.ToSlash(db))
	if out := processor.invokeOK(t, mustJSON(t, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(m, q.ARN)}})); string(out) != `{"batchItemFailures":[]}` {
		t.Fatalf("processor answered %s", out)
	}
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var id, object string
	if err := conn.QueryRow(`SELECT event_id, object FROM standardwebhooks_objects WHERE id = 'user_RIE1'`).Scan(&id, &object); err != nil ||
		id != "msg_RIE1" || object != "user" {
		t.Errorf("standardwebhooks_objects has %q %q for user_RIE1, %v; want msg_RIE1 user", id, object, err)
	}
}

func checkWebhook(t *testing.T, fn *rie, srv *fauxqs.Server, q fauxqs.Queue) sqstypes.Message {
	p := stripehook.SampleEvent("customer.updated", "cus_RIE1", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(p, nil)

	var resp events.LambdaFunctionURLResponse
	decode(t, fn.invokeOK(t, functionURLRequest(p, "t=1,v1=00")), &resp)
	if resp.StatusCode != 400 || resp.Body != `{"error":"invalid signature"}` {
		t.Errorf("forged delivery: %d %s", resp.StatusCode, resp.Body)
	}
	decode(t, fn.invokeOK(t, functionURLRequest(p, stripehook.Sign(p, secret, time.Now()))), &resp)
	if resp.StatusCode != 200 || resp.Body != `{"received":true,"id":"`+want.ID+`"}` ||
		resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("signed delivery: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	m := receiveOne(t, srv, q)
	ev, err := channel.Decode([]byte(aws.ToString(m.Body)))
	if err != nil || ev.ID != want.ID || ev.Subject != "cus_RIE1" || string(ev.Data) != string(want.Data) {
		t.Fatalf("queued event %+v, %v", ev, err)
	}
	return m
}

func checkProcessor(t *testing.T, fn *rie, msg sqstypes.Message, queueARN, db string) {
	batch := events.SQSEvent{Records: []events.SQSMessage{sqsRecord(msg, queueARN), garbage(queueARN)}}
	out := fn.invokeOK(t, mustJSON(t, batch))
	if want := `{"batchItemFailures":[{"itemIdentifier":"garbage-0001"}]}`; string(out) != want {
		t.Fatalf("response %s, want %s", out, want)
	}
	ev, _ := channel.Decode([]byte(aws.ToString(msg.Body)))
	if got := storedEventID(t, db, "cus_RIE1"); got != ev.ID {
		t.Errorf("sink has event %q for cus_RIE1, want %q", got, ev.ID)
	}
}

func checkDeadLetter(t *testing.T, fn *rie, srv *fauxqs.Server, queueARN string, dlq fauxqs.Queue) {
	out := fn.invokeOK(t, mustJSON(t, events.SQSEvent{Records: []events.SQSMessage{garbage(queueARN)}}))
	if string(out) != `{"batchItemFailures":[]}` {
		t.Fatalf("response %s", out)
	}
	m := receiveOne(t, srv, dlq)
	kind := m.MessageAttributes[channel.MetaDeadLetterKind]
	if aws.ToString(m.Body) != "not a hookline event" || aws.ToString(kind.StringValue) != "undecodable" {
		t.Errorf("dead letter %q with %v", aws.ToString(m.Body), aws.ToString(kind.StringValue))
	}
}

func checkEventBridge(t *testing.T, fn *rie, srv *fauxqs.Server, q fauxqs.Queue) {
	p := stripehook.SampleEvent("customer.created", "cus_RIE2", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(p, nil)
	if out := fn.invokeOK(t, eventBridgeEvent(stripeSource, "customer.created", p)); string(out) != "null" {
		t.Fatalf("response %s", out)
	}
	m := receiveOne(t, srv, q)
	if ev, err := channel.Decode([]byte(aws.ToString(m.Body))); err != nil || ev.ID != want.ID {
		t.Fatalf("queued event %+v, %v", ev, err)
	}
	_, out := fn.invoke(t, eventBridgeEvent("my.app", "customer.created", p))
	var fnErr struct{ ErrorMessage, ErrorType string }
	decode(t, out, &fnErr)
	if !strings.Contains(fnErr.ErrorMessage, "not from Stripe") {
		t.Errorf("foreign source: %s", out)
	}
	if n := countMessages(t, srv, q); n != 0 {
		t.Errorf("foreign event queued (%d messages)", n)
	}
}

// garbage is a record whose body no hookline processor can decode.
func garbage(queueARN string) events.SQSMessage {
	return events.SQSMessage{MessageId: "garbage-0001", ReceiptHandle: "AQEBgarbage", Body: "not a hookline event",
		Attributes:        map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1709294401000"},
		MessageAttributes: map[string]events.SQSMessageAttribute{}, EventSource: "aws:sqs",
		EventSourceARN: queueARN, AWSRegion: "us-east-1"}
}

func receiveOne(t *testing.T, srv *fauxqs.Server, q fauxqs.Queue) sqstypes.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := srv.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL),
		MaxNumberOfMessages: 1, WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive from %s: %v (%d messages)", q.Name, err, len(out.Messages))
	}
	m := out.Messages[0]
	if _, err := srv.SQS().DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL),
		ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	return m
}

func countMessages(t *testing.T, srv *fauxqs.Server, q fauxqs.Queue) int {
	t.Helper()
	out, err := srv.SQS().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Messages)
}

func storedEventID(t *testing.T, path, objectID string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id string
	if err := db.QueryRow(`SELECT event_id FROM stripe_objects WHERE id = ?`, objectID).Scan(&id); err != nil {
		t.Fatalf("read sink: %v", err)
	}
	return id
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
