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

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/sbdouble"
)

// TestTraceFromWebhookToServiceBusTrigger runs the example as the host would, with
// OTEL_TRACES_EXPORTER=otlp aimed at an OTLP endpoint here and Service Bus played by the double:
// a Stripe delivery forwarded to the webhook function, the message it sent received from the
// queue and handed to the processor function as the host's Service Bus trigger does (body and
// application properties in the invocation request, nothing else). Its spans, exported by the
// app itself, are one trace: the webhook's SERVER span, its send span, and a process span per
// delivery that is the send's child and links to it. The message is delivered twice: after the
// first invocation it is abandoned (as when the host loses its lock), so Service Bus delivers it
// again with DeliveryCount 2 and the sink ignores the duplicate.
func TestTraceFromWebhookToServiceBusTrigger(t *testing.T) {
	otlp := startOTLPReceiver(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.URL)
	t.Setenv("OTEL_SERVICE_NAME", "azure-trace-test")

	d := sbdouble.Shared(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := fmt.Sprintf("stripe-events-trace-%d", time.Now().UnixNano())
	if err := d.CreateQueue(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_azure_trace_test"
	db := filepath.Join(t.TempDir(), "hookline.db")
	base := startApp(t, map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": freePort(t),
		"HOOKLINE_CHANNEL": "azuresbqueue://" + q, "HOOKLINE_SINK": "sqlite://" + filepath.ToSlash(db),
		"STRIPE_WEBHOOK_SECRET": secret, "SERVICEBUS_CONNECTION_STRING": d.ConnectionString})
	payload := stripehook.SampleEvent("customer.updated", "cus_azure_trace", time.Now().Truncate(time.Second))
	want, _ := stripehook.DecodeUnverified(payload, nil)
	if status := postForwarded(t, base, payload, secret); status != http.StatusOK {
		t.Fatalf("webhook answered %d", status)
	}

	client, err := azservicebus.NewClientFromConnectionString(d.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	recv, err := client.NewReceiverForQueue(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close(context.Background())
	for delivery := 1; delivery <= 2; delivery++ {
		msgs, err := recv.ReceiveMessages(ctx, 1, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("delivery %d: %d messages, %v", delivery, len(msgs), err)
		}
		m := msgs[0]
		if int(m.DeliveryCount) != delivery || m.ApplicationProperties[channel.MetaTraceparent] == nil {
			t.Fatalf("delivery %d: DeliveryCount %d, application properties %v", delivery, m.DeliveryCount, m.ApplicationProperties)
		}
		status, body := postJSON(t, base+"/processor", http.Header{"Content-Type": {"application/json"}}, invocation(t, m))
		if status != http.StatusOK {
			t.Fatalf("delivery %d: processor answered %d %s", delivery, status, body)
		}
		if delivery == 1 {
			err = recv.AbandonMessage(ctx, m, nil)
		} else {
			err = recv.CompleteMessage(ctx, m, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := readSubjects(t, db)["cus_azure_trace"]; got != want.ID {
		t.Errorf("sink has event %q, want %q", got, want.ID)
	}

	spans := otlp.of("azure-trace-test")
	var server, send *spanLine
	for _, sp := range spans {
		switch {
		case sp.Kind == "server":
			server = &sp
		case sp.Name == "send "+q:
			send = &sp
		}
	}
	if server == nil || send == nil {
		t.Fatalf("no server or no send span exported: %v", spans)
	}
	if server.Parent != "" || send.TraceID != server.TraceID || send.Parent != server.SpanID || send.Kind != "producer" {
		t.Errorf("send span %+v, want the producer child of the root server span %+v", *send, *server)
	}
	if send.Attributes["messaging.system"] != "servicebus" || send.Attributes["messaging.destination.name"] != q ||
		send.Attributes["messaging.message.id"] != want.ID {
		t.Errorf("send span attributes %v", send.Attributes)
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
		if sp.TraceID != server.TraceID || sp.Parent != send.SpanID {
			t.Errorf("process span %d in trace %s with parent %s, want the send span %s of trace %s", i+1,
				sp.TraceID, sp.Parent, send.SpanID, server.TraceID)
		}
		if len(sp.Links) != 1 || sp.Links[0] != send.TraceID+"/"+send.SpanID {
			t.Errorf("process span %d links %v, want the send span", i+1, sp.Links)
		}
		if sp.Attributes["messaging.message.id"] != want.ID || sp.Attributes["messaging.servicebus.message.delivery_count"] != fmt.Sprint(i+1) || sp.Attributes["messaging.system"] != "servicebus" {
			t.Errorf("process span %d attributes %v", i+1, sp.Attributes)
		}
		if handles[sp.SpanID] != 1 {
			t.Errorf("process span %d has %d handle spans, want 1", i+1, handles[sp.SpanID])
		}
	}
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
