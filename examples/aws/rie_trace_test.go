package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// The test binary doubles as a Lambda bootstrap: run with envBootstrap set (under the runtime
// interface emulator, which starts it), it builds the role of HOOKLINE_ROLE as main does and
// serves it with the aws-lambda-go runtime loop, its spans exported as JSON lines to the file
// envSpans names, so that a test can follow one trace across two functions' processes.
const (
	envBootstrap = "HOOKLINE_TEST_LAMBDA_BOOTSTRAP"
	envSpans     = "HOOKLINE_TEST_SPANS"
)

func TestMain(m *testing.M) {
	if os.Getenv(envBootstrap) != "" {
		bootstrap()
		return
	}
	os.Exit(m.Run())
}

// bootstrap is main with a tracer provider that writes every span, as it ends, to envSpans.
func bootstrap() {
	f, err := os.OpenFile(os.Getenv(envSpans), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		os.Exit(1)
	}
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(&spanFile{f: f})))
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := build(context.Background(), os.Getenv, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(1)
	}
	lambda.StartHandler(h)
}

// spanLine is one exported span.
type spanLine struct {
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	TraceID    string            `json:"trace_id"`
	SpanID     string            `json:"span_id"`
	Parent     string            `json:"parent_span_id"`
	Links      []string          `json:"links"` // trace_id/span_id
	Attributes map[string]string `json:"attributes"`
}

// spanFile is a span exporter writing one JSON line per span; with WithSyncer, each span is
// written when it ends, before the invocation that ended it answers.
type spanFile struct {
	mu sync.Mutex
	f  *os.File
}

func (e *spanFile) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, sp := range spans {
		l := spanLine{Name: sp.Name(), Kind: sp.SpanKind().String(), TraceID: sp.SpanContext().TraceID().String(),
			SpanID: sp.SpanContext().SpanID().String(), Attributes: map[string]string{}}
		if sp.Parent().IsValid() {
			l.Parent = sp.Parent().SpanID().String()
		}
		for _, k := range sp.Links() {
			l.Links = append(l.Links, k.SpanContext.TraceID().String()+"/"+k.SpanContext.SpanID().String())
		}
		for _, kv := range sp.Attributes() {
			l.Attributes[string(kv.Key)] = kv.Value.Emit()
		}
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		if _, err := e.f.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

func (e *spanFile) Shutdown(context.Context) error { return e.f.Close() }

// TestTraceAcrossLambdaFunctionsUnderRIE runs the webhook and the processor roles as two
// functions, each its own process under AWS's runtime interface emulator, with SQS served by
// fauxqs, and shows their spans as one trace: the webhook's SERVER span and its send span in
// the webhook's process; in the processor's, a process span per delivery whose parent is that
// send span and which links to it, read from nothing but the SQS record. The message is
// delivered twice (SQS delivers at least once: here it is not deleted after the first
// invocation and comes back after its visibility timeout), so there are two process spans, with
// receive counts 1 and 2, linked to the one send; the second delivery is a duplicate the sink
// ignores.
func TestTraceAcrossLambdaFunctionsUnderRIE(t *testing.T) {
	rieBin, err := rieBinary()
	testenv.Require(t, "aws-lambda-rie (run scripts/install-lambda-rie.sh)", err)
	srv := fauxqs.Start(t, nil)
	q := srv.CreateQueue(t, "traced-events", map[string]string{"VisibilityTimeout": "1"})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	webhookSpans, processorSpans := filepath.Join(dir, "webhook.jsonl"), filepath.Join(dir, "processor.jsonl")
	db := filepath.Join(dir, "hookline.db")

	webhook := startRIE(t, rieBin, self, envBootstrap+"=1", envSpans+"="+webhookSpans, "HOOKLINE_ROLE=webhook",
		"HOOKLINE_CHANNEL="+srv.QueueURL(q), "STRIPE_WEBHOOK_SECRET="+secret)
	p := stripehook.SampleEvent("customer.updated", "cus_RIE_trace", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(p, nil)
	var resp events.LambdaFunctionURLResponse
	decode(t, webhook.invokeOK(t, functionURLRequest(p, stripehook.Sign(p, secret, time.Now()))), &resp)
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
	}

	processor := startRIE(t, rieBin, self, envBootstrap+"=1", envSpans+"="+processorSpans, "HOOKLINE_ROLE=processor",
		"HOOKLINE_SINK=sqlite://"+filepath.ToSlash(db))
	var m sqstypes.Message
	for delivery := 1; delivery <= 2; delivery++ {
		m = receiveKept(t, srv, q)
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

	var server, send *spanLine
	for _, sp := range readSpans(t, webhookSpans) {
		switch {
		case sp.Kind == "server":
			server = &sp
		case sp.Name == "send traced-events":
			send = &sp
		}
	}
	if server == nil || send == nil {
		t.Fatalf("the webhook's process exported no server or no send span: %v", readSpans(t, webhookSpans))
	}
	if send.TraceID != server.TraceID || send.Parent != server.SpanID || send.Kind != "producer" {
		t.Errorf("send span %+v, want the producer child of the server span %+v", *send, *server)
	}
	if send.Attributes["messaging.system"] != "aws_sqs" || send.Attributes["messaging.message.id"] != want.ID {
		t.Errorf("send span attributes %v", send.Attributes)
	}
	var process []spanLine
	handles := map[string]int{} // parent span id -> handle spans
	for _, sp := range readSpans(t, processorSpans) {
		switch {
		case sp.Kind == "consumer":
			process = append(process, sp)
		case sp.Name == "handle":
			handles[sp.Parent]++
		}
	}
	if len(process) != 2 {
		t.Fatalf("the processor's process exported %d process spans, want 2: %v", len(process), readSpans(t, processorSpans))
	}
	for i, sp := range process {
		if sp.TraceID != server.TraceID || sp.Parent != send.SpanID {
			t.Errorf("process span %d in trace %s with parent %s, want the send span %s of trace %s", i+1,
				sp.TraceID, sp.Parent, send.SpanID, server.TraceID)
		}
		if len(sp.Links) != 1 || sp.Links[0] != send.TraceID+"/"+send.SpanID {
			t.Errorf("process span %d links %v, want the send span", i+1, sp.Links)
		}
		if sp.Attributes["messaging.message.id"] != want.ID || sp.Attributes["hookline.message.delivery_count"] != fmt.Sprint(i+1) {
			t.Errorf("process span %d attributes %v", i+1, sp.Attributes)
		}
		if handles[sp.SpanID] != 1 {
			t.Errorf("process span %d has %d handle spans, want 1", i+1, handles[sp.SpanID])
		}
	}
}

// receiveKept receives the next message of q with all its attributes, as Lambda's event source
// mapping does, and leaves it on the queue.
func receiveKept(t *testing.T, srv *fauxqs.Server, q fauxqs.Queue) sqstypes.Message {
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
			if m := out.Messages[0]; m.MessageAttributes[channel.MetaTraceparent].StringValue == nil {
				t.Fatalf("message without a traceparent attribute: %v", m.MessageAttributes)
			}
			return out.Messages[0]
		}
	}
	t.Fatalf("no message on %s", q.Name)
	return sqstypes.Message{}
}

// readSpans reads the spans a bootstrap exported to path.
func readSpans(t *testing.T, path string) []spanLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("spans: %v", err)
	}
	defer f.Close()
	var out []spanLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l spanLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("span line %s: %v", sc.Bytes(), err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
