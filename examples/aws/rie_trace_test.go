package main

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// spanLine is one span as an OTLP endpoint received it.
type spanLine struct {
	Service    string            // the resource's service.name
	Name       string            //
	Kind       string            // "server", "producer", "consumer", "internal"
	TraceID    string            //
	SpanID     string            //
	Parent     string            // "" for a root span
	Links      []string          // trace_id/span_id
	Attributes map[string]string // values as text
}

// otlpReceiver is an OTLP/HTTP endpoint (protobuf) that keeps every span exported to it.
type otlpReceiver struct {
	URL   string
	mu    sync.Mutex
	spans []spanLine
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	o := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" {
			w.WriteHeader(http.StatusOK) // metrics and logs are not looked at
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var req collectortracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			t.Errorf("OTLP endpoint: undecodable export (%s): %v", r.Header.Get("Content-Type"), err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		o.add(&req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortracepb.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

func (o *otlpReceiver) add(req *collectortracepb.ExportTraceServiceRequest) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = anyText(kv.GetValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				l := spanLine{Service: service, Name: sp.GetName(), Kind: spanKinds[sp.GetKind()],
					TraceID: hex.EncodeToString(sp.GetTraceId()), SpanID: hex.EncodeToString(sp.GetSpanId()),
					Parent: hex.EncodeToString(sp.GetParentSpanId()), Attributes: map[string]string{}}
				for _, k := range sp.GetLinks() {
					l.Links = append(l.Links, hex.EncodeToString(k.GetTraceId())+"/"+hex.EncodeToString(k.GetSpanId()))
				}
				for _, kv := range sp.GetAttributes() {
					l.Attributes[kv.GetKey()] = anyText(kv.GetValue())
				}
				o.spans = append(o.spans, l)
			}
		}
	}
}

// of returns the spans the process of service exported.
func (o *otlpReceiver) of(service string) []spanLine {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []spanLine
	for _, sp := range o.spans {
		if sp.Service == service {
			out = append(out, sp)
		}
	}
	return out
}

var spanKinds = map[tracepb.Span_SpanKind]string{tracepb.Span_SPAN_KIND_SERVER: "server",
	tracepb.Span_SPAN_KIND_PRODUCER: "producer", tracepb.Span_SPAN_KIND_CONSUMER: "consumer",
	tracepb.Span_SPAN_KIND_INTERNAL: "internal", tracepb.Span_SPAN_KIND_CLIENT: "client"}

// anyText renders an attribute value as text.
func anyText(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

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
	otlp := startOTLPReceiver(t)
	telemetry := func(service string) []string {
		return []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_METRICS_EXPORTER=none", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.URL, "OTEL_SERVICE_NAME=" + service}
	}

	webhook := startRIE(t, rieBin, bin, append(telemetry("trace-webhook"), "HOOKLINE_ROLE=webhook",
		"HOOKLINE_CHANNEL="+srv.QueueURL(q), "STRIPE_WEBHOOK_SECRET="+secret)...)
	p := stripehook.SampleEvent("customer.updated", "cus_RIE_trace", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(p, nil)
	var resp events.LambdaFunctionURLResponse
	decode(t, webhook.invokeOK(t, functionURLRequest(p, stripehook.Sign(p, secret, time.Now()))), &resp)
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, resp.Body)
	}

	processor := startRIE(t, rieBin, bin, append(telemetry("trace-processor"), "HOOKLINE_ROLE=processor",
		"HOOKLINE_SINK=sqlite://"+filepath.ToSlash(db))...)
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
	for _, sp := range otlp.of("trace-webhook") {
		switch {
		case sp.Kind == "server":
			server = &sp
		case sp.Name == "send traced-events":
			send = &sp
		}
	}
	if server == nil || send == nil {
		t.Fatalf("the webhook's process exported no server or no send span: %v", otlp.of("trace-webhook"))
	}
	if send.TraceID != server.TraceID || send.Parent != server.SpanID || send.Kind != "producer" {
		t.Errorf("send span %+v, want the producer child of the server span %+v", *send, *server)
	}
	if send.Attributes["messaging.system"] != "aws_sqs" || send.Attributes["messaging.message.id"] != want.ID {
		t.Errorf("send span attributes %v", send.Attributes)
	}
	var process []spanLine
	handles := map[string]int{} // parent span id -> handle spans
	for _, sp := range otlp.of("trace-processor") {
		switch {
		case sp.Kind == "consumer":
			process = append(process, sp)
		case sp.Name == "handle":
			handles[sp.Parent]++
		}
	}
	if len(process) != 2 {
		t.Fatalf("the processor's process exported %d process spans, want 2: %v", len(process), otlp.of("trace-processor"))
	}
	for i, sp := range process {
		if sp.TraceID != server.TraceID || sp.Parent != send.SpanID {
			t.Errorf("process span %d in trace %s with parent %s, want the send span %s of trace %s", i+1,
				sp.TraceID, sp.Parent, send.SpanID, server.TraceID)
		}
		if len(sp.Links) != 1 || sp.Links[0] != send.TraceID+"/"+send.SpanID {
			t.Errorf("process span %d links %v, want the send span", i+1, sp.Links)
		}
		if sp.Attributes["messaging.message.id"] != want.ID || sp.Attributes["hookline.message.delivery_count"] != fmt.Sprint(i+1) || sp.Attributes["messaging.system"] != "aws_sqs" {
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
