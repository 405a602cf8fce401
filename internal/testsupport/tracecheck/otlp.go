package tracecheck

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one span as an OTLP endpoint received it.
type Span struct {
	Service    string            // the resource's service.name
	Name       string            //
	Kind       string            // "server", "producer", "consumer", "internal", "client"
	TraceID    string            //
	SpanID     string            //
	Parent     string            // "" for a root span
	Links      []string          // trace_id/span_id
	Attributes map[string]string // values as text
}

// Receiver is an OTLP/HTTP endpoint (protobuf, optionally gzipped) that keeps every span
// exported to it; it answers exports of metrics and logs without looking at them.
type Receiver struct {
	URL   string // the endpoint, for OTEL_EXPORTER_OTLP_ENDPOINT
	mu    sync.Mutex
	spans []Span
}

// StartReceiver starts a Receiver, closed when the test ends. An export it cannot decode fails
// the test.
func StartReceiver(t testing.TB) *Receiver {
	t.Helper()
	o := &Receiver{}
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

// Env is the environment, as NAME=value, that makes a process using autoexport send its traces
// to o over OTLP/HTTP (protobuf) as service, and no metrics.
func (o *Receiver) Env(service string) []string {
	return []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_METRICS_EXPORTER=none", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + o.URL, "OTEL_SERVICE_NAME=" + service}
}

func (o *Receiver) add(req *collectortracepb.ExportTraceServiceRequest) {
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
				l := Span{Service: service, Name: sp.GetName(), Kind: spanKinds[sp.GetKind()],
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

// Of returns the spans the process of service exported.
func (o *Receiver) Of(service string) []Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Span
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

// Exported are the spans of one traced delivery as exported by the webhook's and the
// processor's processes.
type Exported struct {
	Server, Send Span
	Process      []Span
}

// ExportedFlow finds the server span and the span named send among webhook (the spans the
// webhook's process exported) and the CONSUMER spans among processor (those the processor's
// exported; the same spans when one process plays both), and checks that they are one trace:
// the send is a PRODUCER span and the server span's child, there are deliveries process spans,
// each the send's child, linked to it and with one handle span under it. With root, the server
// span must have no parent (the Stripe request carries no trace context).
func ExportedFlow(t testing.TB, webhook, processor []Span, send string, deliveries int, root bool) Exported {
	t.Helper()
	var server, sendSpan *Span
	for _, sp := range webhook {
		switch {
		case sp.Kind == "server":
			server = &sp
		case sp.Name == send:
			sendSpan = &sp
		}
	}
	if server == nil || sendSpan == nil {
		t.Fatalf("the webhook's process exported no server or no send span: %v", webhook)
	}
	if root && server.Parent != "" {
		t.Errorf("server span %+v has a parent; Stripe's request carries no trace context", *server)
	}
	if sendSpan.TraceID != server.TraceID || sendSpan.Parent != server.SpanID || sendSpan.Kind != "producer" {
		t.Errorf("send span %+v, want the producer child of the server span %+v", *sendSpan, *server)
	}
	e := Exported{Server: *server, Send: *sendSpan}
	handles := map[string]int{} // parent span id -> handle spans
	for _, sp := range processor {
		switch {
		case sp.Kind == "consumer":
			e.Process = append(e.Process, sp)
		case sp.Name == "handle":
			handles[sp.Parent]++
		}
	}
	if len(e.Process) != deliveries {
		t.Fatalf("the processor's process exported %d process spans, want %d: %v", len(e.Process), deliveries, processor)
	}
	for i, sp := range e.Process {
		if sp.TraceID != e.Server.TraceID || sp.Parent != e.Send.SpanID {
			t.Errorf("process span %d in trace %s with parent %s, want the send span %s of trace %s", i+1,
				sp.TraceID, sp.Parent, e.Send.SpanID, e.Server.TraceID)
		}
		if len(sp.Links) != 1 || sp.Links[0] != e.Send.TraceID+"/"+e.Send.SpanID {
			t.Errorf("process span %d links %v, want the send span", i+1, sp.Links)
		}
		if handles[sp.SpanID] != 1 {
			t.Errorf("process span %d has %d handle spans, want 1", i+1, handles[sp.SpanID])
		}
	}
	return e
}

// WantAttrs checks that the send span has each attribute of send and that process span i (from
// 0) has each of process and countKey = i+1.
func (e Exported) WantAttrs(t testing.TB, send, process map[string]string, countKey string) {
	t.Helper()
	for k, v := range send {
		if e.Send.Attributes[k] != v {
			t.Errorf("send span attributes %v, want %s = %q", e.Send.Attributes, k, v)
		}
	}
	for i, sp := range e.Process {
		for k, v := range process {
			if sp.Attributes[k] != v {
				t.Errorf("process span %d attributes %v, want %s = %q", i+1, sp.Attributes, k, v)
			}
		}
		if sp.Attributes[countKey] != strconv.Itoa(i+1) {
			t.Errorf("process span %d attributes %v, want %s = %d", i+1, sp.Attributes, countKey, i+1)
		}
	}
}

// Names returns the names of the spans the process of service exported, in arrival order.
func (o *Receiver) Names(service string) []string {
	spans := o.Of(service)
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = sp.Name
	}
	return out
}
