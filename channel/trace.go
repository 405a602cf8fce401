package channel

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
)

// tracerName is the instrumentation scope of the channel's spans.
const tracerName = "github.com/hookline/hookline/channel"

// Trace context attributes of the CloudEvents distributed-tracing extension, carried both in a
// message's metadata and in its CloudEvents body.
const (
	MetaTraceparent = "traceparent"
	MetaTracestate  = "tracestate"
)

// Attributes for what the messaging conventions do not name.
const (
	// attrDeliveryCount is the broker's delivery count where no convention names one.
	attrDeliveryCount = attribute.Key("hookline.message.delivery_count")
	// attrAttempt numbers a handler call within one delivery, from 1.
	attrAttempt = attribute.Key("hookline.attempt")
)

var traceContext propagation.TraceContext

// tracing starts the spans of one Sender, Consumer or Processor.
type tracing struct {
	tracer trace.Tracer
	// name is the span name's destination part: the topic or subscription name from the URL, or
	// for one opened without a URL the broker's name; "" when unknown.
	name  string
	attrs []attribute.KeyValue // messaging.system and messaging.destination.name, when known
	count attribute.Key        // the delivery count attribute
	// bodyState keeps tracestate out of the message metadata (it stays in the body): the broker
	// limits the metadata entries of a message (Broker.MaxMetadata).
	bodyState bool
	// sendName and processName are the span names, built once.
	sendName, processName string
}

// newTracing returns the tracing of an endpoint opened from urlstr ("" when opened otherwise) of
// broker b; a nil b means, for a URL, the broker registered for its scheme, if any.
func newTracing(tp trace.TracerProvider, urlstr string, b *Broker) tracing {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	tr := tracing{tracer: tp.Tracer(tracerName), count: attrDeliveryCount}
	if urlstr != "" {
		if b == nil {
			b = brokerOf(schemeOf(urlstr))
		}
		tr.name = destinationOf(urlstr)
		if tr.name != "" {
			tr.attrs = append(tr.attrs, semconv.MessagingDestinationName(tr.name))
		}
	} else if b != nil {
		tr.name = b.Name
	}
	if b != nil {
		tr.bodyState = b.MaxMetadata > 0
		if b.System != "" {
			tr.attrs = append(tr.attrs, semconv.MessagingSystemKey.String(b.System))
		}
		if b.DeliveryCountAttribute != "" {
			tr.count = attribute.Key(b.DeliveryCountAttribute)
		}
	}
	tr.sendName, tr.processName = tr.spanName("send"), tr.spanName("process")
	return tr
}

// destinationOf returns the topic, queue or subscription name of a channel URL: the last part of
// its host and path (after the last ':' for an ARN). mem://stripe-events gives stripe-events.
func destinationOf(urlstr string) string {
	u, err := url.Parse(urlstr)
	if err != nil {
		return ""
	}
	p := strings.TrimRight(u.Host+u.Path, "/")
	p = p[strings.LastIndexByte(p, '/')+1:]
	if strings.HasPrefix(p, "arn:") {
		p = p[strings.LastIndexByte(p, ':')+1:]
	}
	return p
}

func (t *tracing) spanName(op string) string {
	if t.name == "" {
		return op
	}
	return op + " " + t.name
}

// Start options built once, so that starting a span allocates no option slice.
var (
	producerSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)}
	consumerSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
	internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
)

// startSend starts the PRODUCER span of sending event id.
func (t *tracing) startSend(ctx context.Context, id string) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, t.sendName, producerSpan...)
	if span.IsRecording() {
		var buf [6]attribute.KeyValue // one SetAttributes call, without allocating the list
		span.SetAttributes(append(append(buf[:0], t.attrs...), semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("send"), semconv.MessagingMessageID(id))...)
	}
	return ctx, span
}

// end records err on span and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// errorType classifies err for error.type: a context error by name, else its hookline code.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	}
	return hookline.Code(err).String()
}

// inject writes ctx's trace context, when there is one, into a copy of ev's Metadata, which it
// returns with ev, and into md, so that both the CloudEvents body and the broker's metadata carry
// it.
func (t *tracing) inject(ctx context.Context, md map[string]string, ev hookline.Event) hookline.Event {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ev
	}
	meta := make(map[string]string, len(ev.Metadata)+2)
	maps.Copy(meta, ev.Metadata)
	delete(meta, MetaTracestate)
	traceContext.Inject(ctx, propagation.MapCarrier(meta))
	md[MetaTraceparent] = meta[MetaTraceparent]
	if ts := meta[MetaTracestate]; ts != "" && !t.bodyState {
		md[MetaTracestate] = ts
	}
	ev.Metadata = meta
	return ev
}

// extract returns the send's span context carried by a message: from the event's metadata (the
// CloudEvents body, which has tracestate on every broker), else from the message's. It is invalid
// when the producer did not trace.
func extract(md, body map[string]string) trace.SpanContext {
	for _, m := range [...]map[string]string{body, md} {
		if sc, ok := parseTraceparent(m[MetaTraceparent]); ok {
			if ts := m[MetaTracestate]; ts != "" {
				if state, err := trace.ParseTraceState(ts); err == nil {
					sc = sc.WithTraceState(state)
				}
			}
			return sc
		}
	}
	return trace.SpanContext{}
}

// parseTraceparent reads a W3C traceparent of version 00 ("00-<trace id>-<parent id>-<flags>")
// or of a later version (whose first four fields have the same form), as the W3C Trace Context
// recommendation says a receiver does; ok is false for anything else. It does what
// propagation.TraceContext's Extract does, without building a context: this runs once per
// delivery.
func parseTraceparent(h string) (sc trace.SpanContext, ok bool) {
	const n = 55 // 2 + 1 + 32 + 1 + 16 + 1 + 2
	if len(h) < n || h[2] != '-' || h[35] != '-' || h[52] != '-' || (len(h) > n && h[n] != '-') {
		return sc, false
	}
	ver, ok1 := hexByte(h[0:2])
	if !ok1 || ver == 0xff || (ver == 0 && len(h) > n+1) { // version 00 has no further fields
		return sc, false
	}
	var tid trace.TraceID
	var sid trace.SpanID
	for i := range tid {
		b, ok := hexByte(h[3+2*i : 5+2*i])
		if !ok {
			return sc, false
		}
		tid[i] = b
	}
	for i := range sid {
		b, ok := hexByte(h[36+2*i : 38+2*i])
		if !ok {
			return sc, false
		}
		sid[i] = b
	}
	flags, ok2 := hexByte(h[53:55])
	if !ok2 || !tid.IsValid() || !sid.IsValid() || (ver == 0 && flags > 3) { // 00 reserves the other bits
		return sc, false
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.TraceFlags(flags) & (trace.FlagsSampled | trace.FlagsRandom), Remote: true}), true
}

// hexByte decodes two lower-case hex digits, the only case W3C trace context allows.
func hexByte(s string) (byte, bool) {
	hi, ok1 := hexDigit(s[0])
	lo, ok2 := hexDigit(s[1])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// startProcess starts the CONSUMER span of one delivery of a message with metadata md and
// decoded event ev (zero when it did not decode). When the message carries the send's trace
// context, the span is its child and also links to it, so every delivery of one send shows
// as a span linked to it. delivery is the broker's delivery count, 0 when it reports none.
func (t *tracing) startProcess(ctx context.Context, md map[string]string, ev hookline.Event, delivery int) (context.Context, trace.Span) {
	opts := consumerSpan
	if sc := extract(md, ev.Metadata); sc.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		opts = append(opts[:len(opts):len(opts)], trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := t.tracer.Start(ctx, t.processName, opts...)
	if span.IsRecording() {
		var buf [7]attribute.KeyValue // one SetAttributes call, without allocating the list
		kv := append(append(buf[:0], t.attrs...), semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("process"))
		id := ev.ID
		if id == "" {
			id = md["ce_id"]
		}
		if id != "" {
			kv = append(kv, semconv.MessagingMessageID(id))
		}
		if delivery > 0 {
			kv = append(kv, t.count.Int(delivery))
		}
		span.SetAttributes(kv...)
	}
	return ctx, span
}

// endProcess records what became of the delivery on span and ends it: error.type is the
// dead-letter kind for a message dead-lettered (with a "dead-lettered" event) or that could not
// be, and the failure's code ("transient", ...) for a message returned to the broker.
func endProcess(span trace.Span, v verdict, deadLetterErr error) {
	if span.IsRecording() {
		switch v.kind {
		case "":
		case retry:
			span.SetAttributes(semconv.ErrorTypeKey.String(errorType(v.err)))
			span.SetStatus(codes.Error, "returned to the broker")
		default:
			span.SetAttributes(semconv.ErrorTypeKey.String(v.kind))
			if deadLetterErr != nil {
				span.SetStatus(codes.Error, "could not be dead-lettered: "+deadLetterErr.Error())
				break
			}
			span.AddEvent("dead-lettered", trace.WithAttributes(
				attribute.String("hookline.dead_letter.reason", v.reason),
				attribute.String("hookline.dead_letter.kind", v.kind)))
			span.SetStatus(codes.Error, "dead-lettered")
		}
	}
	span.End()
}

// startAttempt starts the span of handler call n of a delivery, a child of its process span.
func (t *tracing) startAttempt(ctx context.Context, n int) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, "handle", internalSpan...)
	if span.IsRecording() {
		span.SetAttributes(attrAttempt.Int(n))
	}
	return ctx, span
}

// startBatch starts the span of batch handler call n over size events, linked to the process
// span of each event (links), as the messaging conventions model a batch: a root of its own,
// or for a batch of one event a child of its process span (in ctx), as for a Handler.
func (t *tracing) startBatch(ctx context.Context, n, size int, links []trace.Link) (context.Context, trace.Span) {
	opts := append(internalSpan[:len(internalSpan):len(internalSpan)], trace.WithLinks(links...))
	if size > 1 {
		opts = append(opts, trace.WithNewRoot())
	}
	ctx, span := t.tracer.Start(ctx, "handle", opts...)
	if span.IsRecording() {
		span.SetAttributes(attrAttempt.Int(n), attrBatchSize.Int(size))
	}
	return ctx, span
}

// noteBatch adds to the process span of each event of batch call n (ds[todo]) a "handled in
// batch" event with the call's span and the event's own outcome, so that an event's trace leads
// to the batch that handled it.
func (t *tracing) noteBatch(ds []inFlight, todo []int, results []BatchResult, batch trace.Span, n int) {
	bc := batch.SpanContext()
	for k, i := range todo {
		span := ds[i].span
		if !span.IsRecording() {
			continue
		}
		outcome := OutcomeStored
		switch r := results[k]; {
		case r.Err != nil:
			outcome = errorType(r.Err)
		case r.Ignored:
			outcome = OutcomeIgnored
		}
		span.AddEvent(batchSpanEventName, trace.WithAttributes(attrAttempt.Int(n),
			attribute.String("hookline.batch.trace_id", bc.TraceID().String()),
			attribute.String("hookline.batch.span_id", bc.SpanID().String()),
			attribute.String("hookline.outcome", outcome)))
	}
}
