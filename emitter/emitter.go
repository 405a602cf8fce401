// Package emitter turns webhook deliveries into events on a channel.
//
// A [Source] verifies and decodes one delivery (emitter/stripehook does it for Stripe); a [Handler]
// wraps a Source and a [Sender] into an http.Handler that enforces the delivery contract:
//
//   - 2xx only after the Sender accepted the event (the broker has it);
//   - 503 with Retry-After when the send fails or exceeds its time budget, so the source retries;
//   - 400 for a delivery the Source rejects (bad signature, malformed body), 405 for a method other
//     than POST, 413 past the body limit; in none of these cases is anything sent;
//   - 200 without sending for an authentic delivery the Source skips ([ErrSkip]).
//
// [Handler.Accept] is the same logic without net/http, for adapters (AWS Lambda, Azure Functions).
//
// # Sources
//
// A source is chosen by URL, as a channel or a sink is: the package that verifies a sender's
// deliveries registers a [SourceDriver] for its scheme from its init function, and a program
// links the sources it accepts by importing their packages. [OpenSource] opens one from its URL
// and secrets (HOOKLINE_SOURCE and the variable the driver names, in package pipeline):
//
//	stripe://            emitter/stripehook        STRIPE_WEBHOOK_SECRET
//	standardwebhooks://  emitter/standardwebhooks  HOOKLINE_WEBHOOK_SECRET (OpenAI, Twilio, Supabase,
//	                                               Clerk, Resend, any Svix customer)
//
// A URL whose scheme no linked package serves is an error that names the import to add. Every
// source stamps its events with what the sinks' ordering rule needs (hookline.Event's Time at
// its precision, Object and Action), so nothing after the emitter knows which sender it was. A
// source of your own passes emitter/emittertest, the suite both of these pass.
//
// # Delivery semantics
//
// At least once: a 2xx means the broker has the event; any other answer makes the source deliver
// again later, and a source may also repeat a delivery that was answered 2xx. Sinks are therefore
// idempotent.
//
// # Errors
//
// A Source chooses the 4xx status and its short reason with a [*RejectError]; any other error is
// answered 400 "rejected". Response bodies are tiny JSON objects; see [Response].
//
// # Observability
//
// Every delivery is traced with OpenTelemetry, through [HandlerOptions].TracerProvider or else the
// global provider (the library never installs an exporter; what runs it chooses one). The span is
// a SERVER span named by the HTTP semantic conventions: the method plus the route when the request
// was routed by an http.ServeMux pattern ("POST /webhook"), else "POST" (and "HTTP" for an unknown
// method). It continues the W3C trace context of a traceparent header (tracestate too), and the
// Sender's Send runs inside it, so channel's producer span is its child. Attributes:
// http.request.method, http.route (when known), http.response.status_code, and for any answer
// other than 2xx error.type, which is the answer's reason ("invalid signature", "temporarily
// unavailable"); 5xx answers also set the span status to Error. With no provider installed the
// cost is a few allocations per delivery.
//
// Metrics go to [HandlerOptions].MeterProvider or else the global provider:
// hookline.webhook.deliveries counts every delivery by hookline.outcome ("accepted", "skipped",
// "refused" for a 4xx, "failed" for a 503), http.response.status_code and, unless accepted or
// skipped, hookline.reason (the answer's fixed phrase); http.server.request.duration (seconds)
// has http.request.method, http.response.status_code, http.route and url.scheme when known, and
// error.type for 5xx. No attribute carries an event id or anything from the request body.
//
// Logs: a refused delivery is logged at WARN with its status, reason and cause (never the body or
// a secret), so that a wrong or rolled signing secret shows without debug logging; to keep a flood
// of forgeries from flooding the log, only the first refusal per reason and then one per
// [HandlerOptions].RefusalLogInterval are written, each saying how many were left out
// ("suppressed"). A failed send is logged at ERROR with event_id, event_type and event_subject.
// Records carry trace_id and span_id when the delivery is traced.
//
// # Security
//
// There is no way to build a Handler without a Source, and every Source in this module refuses an
// empty secret, so a delivery is never forwarded unverified. Bodies are read through
// http.MaxBytesReader. Error bodies are short fixed phrases and never echo the request or a secret.
package emitter

import (
	"context"
	"errors"
	"net/http"

	"github.com/hookline/hookline"
)

// Source verifies and decodes one webhook delivery. Decode returns [ErrSkip] (possibly wrapped) for
// an authentic delivery that should not be forwarded (filtered by type), and any other error for a
// delivery that must be refused. It must not keep body after it returns unless it copies it; the
// Event it returns may share body's memory.
type Source interface {
	Decode(header http.Header, body []byte) (hookline.Event, error)
}

// Sender accepts an event for delivery. A nil error means the broker has the message. The channel
// package's *channel.Sender implements it.
//
// Send must honour ctx (the [Handler] gives it a time budget) and must not keep ev.Data after it
// returns: ev.Data may share memory with a request buffer that is reused for the next delivery.
// A Sender that needs the event later keeps ev.Clone().
type Sender interface {
	Send(ctx context.Context, ev hookline.Event) error
}

// ErrSkip is returned by a Source for an authentic delivery that is deliberately not forwarded.
// The Handler answers it with 200 so the source does not retry.
var ErrSkip = errors.New("emitter: event skipped")
