package gcp_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/hookline/hookline/adapters/gcpfunctions"
	"github.com/hookline/hookline/adapters/gcpfunctions/gcpfunctionstest"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/examples/gcp"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
)

// TestTraceFromWebhookToProcessEvent shows the example's StripeWebhook and ProcessEvent
// functions as one trace, exported by the functions themselves through
// OTEL_TRACES_EXPORTER=otlp to an OTLP endpoint here. The functions read the OTEL_* variables
// when the package initializes and their configuration on first use, so the flow runs in a child
// process (this test binary again): a Stripe delivery to StripeWebhook, the message it published
// on Pub/Sub (pstest, a subscription with a dead-letter policy) pulled and handed to
// ProcessEvent as Eventarc's messagePublished CloudEvent, twice (the first delivery is nacked as
// if its acknowledgement were lost; the sink ignores the duplicate). The spans: the webhook's
// SERVER span, its send span, and two process spans, each the send's child and linked to it.
func TestTraceFromWebhookToProcessEvent(t *testing.T) {
	if os.Getenv("GCP_TRACE_CHILD") == "1" {
		traceFlowChild(t)
		return
	}
	otlp := startOTLPReceiver(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTraceFromWebhookToProcessEvent$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "GCP_TRACE_CHILD=1", "OTEL_TRACES_EXPORTER=otlp", "OTEL_METRICS_EXPORTER=none",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT="+otlp.URL,
		"OTEL_SERVICE_NAME=gcp-trace-test", "HOOKLINE_TEST_DB="+filepath.Join(t.TempDir(), "hookline.db"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var id, dest string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "hookline-trace-flow" {
			id, dest = f[1], f[2]
		}
	}
	if id == "" {
		t.Fatalf("the child did not say which event it sent:\n%s", out)
	}

	spans := otlp.of("gcp-trace-test")
	var server, sendSpan *spanLine
	for _, sp := range spans {
		switch {
		case sp.Kind == "server":
			server = &sp
		case sp.Name == "send "+dest:
			sendSpan = &sp
		}
	}
	if server == nil || sendSpan == nil {
		t.Fatalf("no server or no send span exported: %v", spans)
	}
	if server.Parent != "" || sendSpan.TraceID != server.TraceID || sendSpan.Parent != server.SpanID || sendSpan.Kind != "producer" {
		t.Errorf("send span %+v, want the producer child of the root server span %+v", *sendSpan, *server)
	}
	if sendSpan.Attributes["messaging.system"] != "gcp_pubsub" || sendSpan.Attributes["messaging.destination.name"] != dest ||
		sendSpan.Attributes["messaging.message.id"] != id {
		t.Errorf("send span attributes %v", sendSpan.Attributes)
	}
	var process []spanLine
	handles := map[string]int{} // parent span id -> handle spans
	for _, sp := range spans {
		switch {
		case sp.Kind == "consumer":
			process = append(process, sp)
		case sp.Name == "handle":
			handles[sp.Parent]++
		}
	}
	if len(process) != 2 {
		t.Fatalf("%d process spans exported, want 2: %v", len(process), spans)
	}
	for i, sp := range process {
		if sp.TraceID != server.TraceID || sp.Parent != sendSpan.SpanID {
			t.Errorf("process span %d in trace %s with parent %s, want the send span %s of trace %s", i+1,
				sp.TraceID, sp.Parent, sendSpan.SpanID, server.TraceID)
		}
		if len(sp.Links) != 1 || sp.Links[0] != sendSpan.TraceID+"/"+sendSpan.SpanID {
			t.Errorf("process span %d links %v, want the send span", i+1, sp.Links)
		}
		if sp.Attributes["messaging.message.id"] != id || sp.Attributes["messaging.gcp_pubsub.message.delivery_attempt"] != fmt.Sprint(i+1) || sp.Attributes["messaging.system"] != "gcp_pubsub" {
			t.Errorf("process span %d attributes %v", i+1, sp.Attributes)
		}
		if handles[sp.SpanID] != 1 {
			t.Errorf("process span %d has %d handle spans, want 1", i+1, handles[sp.SpanID])
		}
	}
}

// traceFlowChild is the child's part: the flow through the functions, then a line saying the
// event's id and the topic's name.
func traceFlowChild(t *testing.T) {
	srv := pubsubtest.Shared(t)
	names := srv.Create(t, "gcp-trace", &pubsubtest.Options{MaxDeliveryAttempts: 5})
	const secret = "whsec_gcp_trace_test"
	t.Setenv(gcpfunctions.EnvChannel, "gcppubsub://"+names.Topic)
	t.Setenv(gcpfunctions.EnvSink, "sqlite://"+filepath.ToSlash(os.Getenv("HOOKLINE_TEST_DB")))
	t.Setenv(gcpfunctions.EnvSecret, secret)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}

	payload := stripehook.SampleEvent("customer.updated", "cus_gcp_trace", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(payload, nil)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/"+gcp.WebhookEntryPoint, bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", stripehook.Sign(payload, secret, time.Now()))
	if status := send(t, client, req); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}
	recv, err := channel.OpenReceiver(ctx, "gcppubsub://"+names.Subscription, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Shutdown(context.Background())
	for attempt := 1; attempt <= 2; attempt++ {
		m, err := recv.Receive(ctx)
		if err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		if n, ok := channel.DeliveryCount(m); !ok || n != attempt || m.Metadata[channel.MetaTraceparent] == "" {
			t.Fatalf("delivery attempt %d (%v), attributes %v; want attempt %d and a traceparent", n, ok, m.Metadata, attempt)
		}
		body := gcpfunctionstest.PushBody(m.Body, m.Metadata, attempt)
		req, err := gcpfunctionstest.BinaryCloudEvent(ctx, baseURL+"/"+gcp.ProcessEntryPoint, gcpfunctions.MessagePublishedType, body)
		if err != nil {
			t.Fatal(err)
		}
		if status := send(t, client, req); status < 200 || status > 299 {
			t.Fatalf("attempt %d: ProcessEvent answered %d", attempt, status)
		}
		if attempt == 1 {
			m.Nack() // the acknowledgement lost: Pub/Sub delivers the message again
		} else {
			m.Ack()
		}
	}
	db, err := sql.Open("sqlite", os.Getenv("HOOKLINE_TEST_DB"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRow(`SELECT event_id FROM stripe_objects WHERE id = ?`, "cus_gcp_trace").Scan(&stored); err != nil || stored != want.ID {
		t.Fatalf("sink has event %q (%v), want %s", stored, err, want.ID)
	}
	fmt.Println("hookline-trace-flow", want.ID, names.Topic[strings.LastIndexByte(names.Topic, '/')+1:])
}

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
