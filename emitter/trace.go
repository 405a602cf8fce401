package emitter

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the Handler's spans.
const tracerName = "github.com/hookline/hookline/emitter"

// serverSpan is the start options of every delivery span, built once so that starting one
// allocates no option slice.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// traceContext continues a caller's W3C trace context (traceparent, tracestate).
var traceContext propagation.TraceContext

// newTracer returns the Handler's tracer from tp, or from the global provider when tp is nil.
func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(tracerName)
}

// startSpan starts the SERVER span of one delivery, continuing the trace context of header.
// pattern is the ServeMux pattern that routed the request ("" when unknown), method its method.
// It returns the route too (routeOf(pattern)), for the delivery's metrics.
func (h *Handler) startSpan(ctx context.Context, header http.Header, method, pattern string) (context.Context, trace.Span, string) {
	if header.Get("Traceparent") != "" {
		ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(header))
	}
	route, name, known := h.spanName(method, pattern)
	ctx, span := h.tracer.Start(ctx, name, serverSpan...)
	if span.IsRecording() {
		var buf [3]attribute.KeyValue // one SetAttributes call, without allocating the list
		kv := buf[:0]
		if known {
			kv = append(kv, semconv.HTTPRequestMethodKey.String(method))
		} else {
			kv = append(kv, semconv.HTTPRequestMethodOther, semconv.HTTPRequestMethodOriginal(method))
		}
		if route != "" {
			kv = append(kv, semconv.HTTPRoute(route))
		}
		span.SetAttributes(kv...)
	}
	return ctx, span, route
}

// postName is the route and span name of POST deliveries routed by one ServeMux pattern.
type postName struct{ pattern, route, name string }

// spanName returns the route of pattern, the span name of a request of method routed by it
// ("POST /webhook") and whether method is a known one. For POST, the method of every delivery,
// the name of the last pattern is kept, so that a request does not build it again.
func (h *Handler) spanName(method, pattern string) (route, name string, known bool) {
	if method == http.MethodPost {
		if c := h.postName.Load(); c != nil && c.pattern == pattern {
			return c.route, c.name, true
		}
	}
	route = routeOf(pattern)
	name, known = spanMethod(method)
	if route != "" {
		name += " " + route
	}
	if method == http.MethodPost {
		h.postName.Store(&postName{pattern: pattern, route: route, name: name})
	}
	return route, name, known
}

// endSpan records how the delivery was answered and ends span: the status code, and for an answer
// other than 2xx the reason as error.type (the span's status is Error for 5xx only, as the HTTP
// conventions say for a server).
func endSpan(span trace.Span, resp Response) {
	if span.IsRecording() {
		var buf [3]attribute.KeyValue
		kv := append(buf[:0], semconv.HTTPResponseStatusCode(resp.Status))
		if resp.Status >= 400 {
			kv = append(kv, semconv.ErrorTypeKey.String(errorType(resp)))
		}
		if resp.Skipped {
			kv = append(kv, attribute.Bool("hookline.skipped", true))
		}
		span.SetAttributes(kv...)
		if resp.Status >= 500 {
			span.SetStatus(codes.Error, resp.Reason)
		}
	}
	span.End()
}

// errorType is the error.type of a refused or failed delivery: its reason, or the status code.
func errorType(resp Response) string {
	if resp.Reason != "" {
		return resp.Reason
	}
	return http.StatusText(resp.Status)
}

// spanMethod returns the span name for method and whether method is a known HTTP method; an
// unknown one is named "HTTP", as the conventions ask.
func spanMethod(method string) (string, bool) {
	switch method {
	case http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead,
		http.MethodPatch, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method, true
	}
	return "HTTP", false
}

// routeOf returns the path template of a ServeMux pattern ("POST example.com/hook" gives
// "/hook"), or "" for none.
func routeOf(pattern string) string {
	if pattern == "" {
		return ""
	}
	if _, rest, ok := strings.Cut(pattern, " "); ok {
		pattern = strings.TrimLeft(rest, " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}
