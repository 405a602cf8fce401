package emitter_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

// spanSender records the span context Send runs in.
type spanSender struct{ sc trace.SpanContext }

func (s *spanSender) Send(ctx context.Context, _ hookline.Event) error {
	s.sc = trace.SpanContextFromContext(ctx)
	return nil
}

func tracedHandler(t *testing.T, src emitter.Source, dst emitter.Sender) (*emitter.Handler, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	h, err := emitter.NewHandler(src, dst, &emitter.HandlerOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	return h, rec
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestServerSpanContinuesTraceparent(t *testing.T) {
	dst := &spanSender{}
	h, rec := tracedHandler(t, echoSource, dst)
	mux := http.NewServeMux()
	mux.Handle("POST /webhook", h)
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(`{}`))
	req.Header.Set("X-Id", "evt_1")
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	req.Header.Set("traceparent", parent)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "POST /webhook" || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %v, want \"POST /webhook\" server", s.Name(), s.SpanKind())
	}
	if got := s.SpanContext().TraceID().String(); got != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("trace id %s, want the traceparent's", got)
	}
	if got := s.Parent().SpanID().String(); got != "b7ad6b7169203331" {
		t.Errorf("parent span %s, want the traceparent's", got)
	}
	if dst.sc.SpanID() != s.SpanContext().SpanID() {
		t.Errorf("Send ran in span %s, want the server span %s", dst.sc.SpanID(), s.SpanContext().SpanID())
	}
	a := attrs(s)
	if a["http.request.method"].AsString() != "POST" || a["http.response.status_code"].AsInt64() != 200 ||
		a["http.route"].AsString() != "/webhook" {
		t.Errorf("attributes %v", s.Attributes())
	}
	if _, ok := a["error.type"]; ok {
		t.Errorf("error.type on a success: %v", a["error.type"])
	}
}

func TestRefusedDeliverySpanHasErrorType(t *testing.T) {
	h, rec := tracedHandler(t, failSource(emitter.Reject("invalid signature", nil)), &recorder{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`)))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d", w.Code)
	}
	s := rec.Ended()[0]
	a := attrs(s)
	if s.Name() != "POST" || a["error.type"].AsString() != "invalid signature" || a["http.response.status_code"].AsInt64() != 400 {
		t.Errorf("span %q attributes %v", s.Name(), s.Attributes())
	}
}

func TestAcceptSpanAndUnavailable(t *testing.T) {
	h, rec := tracedHandler(t, echoSource, failingSender{err: hookline.MarkTransient(context.DeadlineExceeded)})
	resp := h.Accept(context.Background(), http.Header{}, []byte(`{}`))
	if resp.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d", resp.Status)
	}
	s := rec.Ended()[0]
	a := attrs(s)
	if s.Name() != "POST" || a["error.type"].AsString() != emitter.ReasonUnavailable || s.Status().Code.String() != "Error" {
		t.Errorf("span %q status %v attributes %v", s.Name(), s.Status(), s.Attributes())
	}
}

func TestMethodNotAllowedSpan(t *testing.T) {
	h, rec := tracedHandler(t, echoSource, &recorder{})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/", nil))
	s := rec.Ended()[0]
	a := attrs(s)
	if s.Name() != "HTTP" || a["http.request.method"].AsString() != "_OTHER" || a["http.request.method_original"].AsString() != "BREW" {
		t.Errorf("span %q attributes %v", s.Name(), s.Attributes())
	}
}
