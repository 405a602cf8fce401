package emitter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/internal/eventlog"
)

// Defaults for the zero [HandlerOptions].
const (
	DefaultMaxBodyBytes int64         = 1 << 20 // 1 MiB
	DefaultSendTimeout  time.Duration = 10 * time.Second
	DefaultRetryAfter   time.Duration = 5 * time.Second
)

// HandlerOptions configures a [Handler]. A nil *HandlerOptions and zero or negative fields mean the
// documented defaults.
type HandlerOptions struct {
	// MaxBodyBytes is the largest request body accepted; a larger one is answered with 413.
	// Default: 1 MiB (Stripe's events are a few KiB, its largest well under that).
	MaxBodyBytes int64
	// SendTimeout is the time budget for Sender.Send. When it is exceeded the delivery is answered
	// with 503 so the source retries. Default: 10s (Stripe waits a little longer than that for a
	// response before it counts the attempt as failed).
	SendTimeout time.Duration
	// RetryAfter is sent as the Retry-After header (rounded up to whole seconds) with every 503.
	// Default: 5s.
	RetryAfter time.Duration
	// Logger receives one ERROR record per failed send (event id, type and subject, trace and
	// span ids) and one WARN record per refused delivery (status, reason and cause, never the
	// body or a secret), at most one per reason per RefusalLogInterval. Default: discard.
	Logger *slog.Logger
	// RefusalLogInterval rate-limits the warnings about refused deliveries: the first refusal for
	// a reason is logged at once, later ones at most once per interval, with the number left out
	// meanwhile ("suppressed"). The metrics count every one. Default: 10s.
	RefusalLogInterval time.Duration
	// TracerProvider gives the tracer of the delivery spans (see the package doc, # Observability).
	// Default: the global provider, otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider gives the meter of the delivery metrics (see the package doc,
	// # Observability). Default: the global provider, otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

// Handler is an http.Handler that verifies a webhook delivery with a [Source] and forwards the
// decoded event with a [Sender], answering 2xx only after the Sender accepted it. See the package
// documentation for the status codes. A Handler is safe for concurrent use.
//
// # Buffer reuse
//
// ServeHTTP reads each body into a pooled buffer, and the [hookline.Event] a Source returns may
// share that buffer's memory (its Data field in particular). The buffer is reused for another
// request once Send has returned successfully, so a Sender must not keep ev.Data, or anything
// else that may alias the body, after Send returns: it copies what it needs (encoding the event
// into a message does that) or keeps ev.Clone(). When Send fails or exceeds its budget, the buffer
// is not reused but left to the garbage collector, because a driver may still hold the message in
// a background batch after Send gave up waiting for it.
type Handler struct {
	src         Source
	dst         Sender
	maxBody     int64
	sendTimeout time.Duration
	retryAfter  time.Duration
	// retryAfterHeader is the precomputed Retry-After value, shared by every 503 response.
	retryAfterHeader []string
	log              *slog.Logger
	refusals         refusalLog
	tracer           trace.Tracer
	meters           *meters
	postName         atomic.Pointer[postName] // see spanName
	bufs             sync.Pool                // of *buffers
}

// buffers is what a request borrows from the pool: in holds the body, out the response body.
type buffers struct {
	in  []byte
	out []byte
}

// Buffers that grew past this capacity (an unusually large delivery) are not kept in the pool.
const maxPooledBytes = 256 << 10

// Header values shared by all responses; net/http only reads them.
var (
	contentTypeJSON = []string{"application/json"}
	noSniff         = []string{"nosniff"}
	allowPost       = []string{http.MethodPost}
)

// NewHandler returns a Handler that decodes deliveries with src and sends events with dst.
// It fails when src or dst is nil.
func NewHandler(src Source, dst Sender, opts *HandlerOptions) (*Handler, error) {
	if src == nil {
		return nil, errors.New("emitter: NewHandler: Source is nil")
	}
	if dst == nil {
		return nil, errors.New("emitter: NewHandler: Sender is nil")
	}
	var o HandlerOptions
	if opts != nil {
		o = *opts
	}
	h := &Handler{
		src:         src,
		dst:         dst,
		maxBody:     positive(o.MaxBodyBytes, DefaultMaxBodyBytes),
		sendTimeout: positive(o.SendTimeout, DefaultSendTimeout),
		retryAfter:  positive(o.RetryAfter, DefaultRetryAfter),
		log:         o.Logger,
		tracer:      newTracer(o.TracerProvider),
		meters:      newMeters(o.MeterProvider),
		refusals:    refusalLog{every: positive(o.RefusalLogInterval, DefaultRefusalLogInterval), last: map[string]*refusals{}},
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.retryAfterHeader = []string{retryAfterSeconds(h.retryAfter)}
	h.bufs.New = func() any { return &buffers{in: make([]byte, 0, 8<<10), out: make([]byte, 0, 128)} }
	return h, nil
}

func positive[T int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// retryAfterSeconds renders d as whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}

// ServeHTTP implements http.Handler: it checks the method and body size, then calls [Handler.Accept].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, span, route := h.startSpan(r.Context(), r.Header, r.Method, r.Pattern)
	var resp Response
	defer func() {
		endSpan(span, resp)
		h.meters.record(ctx, time.Since(start), r.Method, route, schemeOf(r), resp)
	}()
	if r.Method != http.MethodPost {
		resp = h.refuse(ctx, Response{Status: http.StatusMethodNotAllowed, Reason: ReasonMethodNotAllowed}, nil)
		h.write(w, resp, nil)
		return
	}
	if r.ContentLength > h.maxBody {
		resp = h.refuse(ctx, Response{Status: http.StatusRequestEntityTooLarge, Reason: ReasonBodyTooLarge}, nil)
		h.write(w, resp, nil)
		return
	}
	b := h.bufs.Get().(*buffers)
	body, err := readBody(http.MaxBytesReader(w, r.Body, h.maxBody), b.in, r.ContentLength)
	b.in = body[:0]
	switch {
	case err == nil:
		resp = h.accept(ctx, r.Header, body)
	case isMaxBytes(err):
		resp = h.refuse(ctx, Response{Status: http.StatusRequestEntityTooLarge, Reason: ReasonBodyTooLarge}, nil)
	default:
		resp = h.refuse(ctx, Response{Status: http.StatusBadRequest, Reason: ReasonUnreadableBody}, err)
	}
	b.out = h.write(w, resp, b.out)
	if resp.Status == http.StatusServiceUnavailable || cap(b.in) > maxPooledBytes {
		return // see "Buffer reuse": the Sender may still hold the body.
	}
	h.bufs.Put(b)
}

func isMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// readBody reads r to the end into buf[:0], growing it as needed; n, when positive, is the
// expected length (Content-Length), so a body of known size is read without reallocation.
func readBody(r io.Reader, buf []byte, n int64) ([]byte, error) {
	buf = buf[:0]
	if n > 0 && int64(cap(buf)) < n+1 {
		buf = make([]byte, 0, n+1) // +1: room for the read that reports EOF
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// write sends resp, rendering its body into scratch, and returns scratch for reuse.
func (h *Handler) write(w http.ResponseWriter, resp Response, scratch []byte) []byte {
	hdr := w.Header()
	hdr["Content-Type"] = contentTypeJSON
	hdr["X-Content-Type-Options"] = noSniff
	switch resp.Status {
	case http.StatusMethodNotAllowed:
		hdr["Allow"] = allowPost
	case http.StatusServiceUnavailable:
		if resp.RetryAfter == h.retryAfter {
			hdr["Retry-After"] = h.retryAfterHeader
		} else if resp.RetryAfter > 0 {
			hdr.Set("Retry-After", retryAfterSeconds(resp.RetryAfter))
		}
	}
	scratch = resp.AppendBody(scratch[:0])
	w.WriteHeader(resp.Status)
	_, _ = w.Write(scratch)
	return scratch
}

// Accept verifies, decodes and sends one delivery and says how to answer it. It is the
// transport-neutral core of ServeHTTP, for adapters that receive the request some other way
// (an AWS Lambda or Azure Functions event): they check the method themselves, pass the headers
// (with canonical keys, as http.Header.Set stores them) and the body, and render the [Response].
//
// Accept answers 413 when body is longer than MaxBodyBytes. body must stay unchanged until Accept
// returns; the Sender has finished with it by then (see "Buffer reuse" on [Handler]).
//
// Accept traces the delivery as ServeHTTP does (a SERVER span "POST", continuing the trace
// context of header's traceparent), and counts it in the same metrics.
func (h *Handler) Accept(ctx context.Context, header http.Header, body []byte) Response {
	start := time.Now()
	ctx, span, _ := h.startSpan(ctx, header, http.MethodPost, "")
	resp := h.accept(ctx, header, body)
	endSpan(span, resp)
	h.meters.record(ctx, time.Since(start), http.MethodPost, "", "", resp)
	return resp
}

// accept is Accept inside the delivery's span.
func (h *Handler) accept(ctx context.Context, header http.Header, body []byte) Response {
	if int64(len(body)) > h.maxBody {
		return h.refuse(ctx, Response{Status: http.StatusRequestEntityTooLarge, Reason: ReasonBodyTooLarge}, nil)
	}
	ev, err := h.src.Decode(header, body)
	if err != nil {
		if errors.Is(err, ErrSkip) {
			return Response{Status: http.StatusOK, Skipped: true}
		}
		return h.reject(ctx, err)
	}
	sctx, cancel := context.WithTimeout(ctx, h.sendTimeout)
	err = h.dst.Send(sctx, ev)
	cancel()
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "emitter: send failed; answering 503 so the source retries",
			eventlog.Attrs(ctx, ev, slog.String("error", err.Error()))...)
		return Response{Status: http.StatusServiceUnavailable, Reason: ReasonUnavailable,
			RetryAfter: h.retryAfter}
	}
	return Response{Status: http.StatusOK, EventID: ev.ID}
}

// reject turns a Source error into a 4xx response with a short fixed reason.
func (h *Handler) reject(ctx context.Context, err error) Response {
	resp := Response{Status: http.StatusBadRequest, Reason: ReasonRejected}
	var re *RejectError
	if errors.As(err, &re) {
		if re.Status >= 400 && re.Status <= 499 {
			resp.Status = re.Status
		}
		if re.Reason != "" && jsonSafe(re.Reason) {
			resp.Reason = re.Reason
		}
	}
	return h.refuse(ctx, resp, err)
}

// refuse logs the refusal resp, caused by err (nil when the reason says it all), at WARN, at most
// once per reason per RefusalLogInterval, and returns resp. The record never holds the body or a
// secret: a Source's cause names what was wrong, not the input.
func (h *Handler) refuse(ctx context.Context, resp Response, err error) Response {
	if !h.log.Enabled(ctx, slog.LevelWarn) {
		return resp
	}
	ok, suppressed := h.refusals.allow(resp.Reason, time.Now())
	if !ok {
		return resp
	}
	attrs := append(eventlog.Trace(ctx), slog.Int("status", resp.Status), slog.String("reason", resp.Reason))
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	h.log.LogAttrs(ctx, slog.LevelWarn, "emitter: delivery refused", attrs...)
	return resp
}

// RejectError is returned by a [Source] for a delivery it refuses, to choose the status code (4xx;
// anything else means 400) and the short reason the Handler answers with. Reason must be a fixed
// phrase such as "invalid signature": it is sent to the caller and is a metric attribute, so it
// never contains input or a secret. Err is the underlying cause, logged (at WARN, rate-limited)
// but never sent: it may say what was wrong, but must not quote the body or a secret either.
type RejectError struct {
	Status int
	Reason string
	Err    error
}

func (e *RejectError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("emitter: rejected (%d %s)", e.Status, e.Reason)
	}
	return fmt.Sprintf("emitter: rejected (%d %s): %v", e.Status, e.Reason, e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }

// Reject returns a *RejectError with status 400, the given reason and cause.
func Reject(reason string, err error) error {
	return &RejectError{Status: http.StatusBadRequest, Reason: reason, Err: err}
}
