package azurefunctions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/pipeline"
)

// Reasons in the JSON error bodies of the functions' own answers (emitter's format).
const (
	ReasonNotConfigured = pipeline.ReasonNotConfigured // "function not configured"
	ReasonUnavailable   = emitter.ReasonUnavailable
)

// Webhook is the webhook (of the source HOOKLINE_SOURCE names) as an HTTP-triggered function, in either of the host's modes:
//
//   - [Webhook.ServeHTTP] takes the original request that the host forwards at its own path
//     (enableForwardingHttpRequest or enableProxyingHttpRequest in host.json) and answers it
//     directly, like any http.Handler.
//   - [Webhook.Invocation] takes the host's default invocation request, {"Data":{"req":{...}},
//     "Metadata":{...}}, POSTed to /<FunctionName>, and answers with the HTTP response in
//     {"Outputs":{"res":{...}}}.
//
// On the first request of the process it reads the configuration, opens the channel and builds
// the [emitter.Handler]; later requests reuse them. It answers like the emitter.Handler once
// built (2xx only after the channel accepted the event), and otherwise:
//
//	500 {"error":"function not configured"}   an app setting is missing or unusable (logged)
//	503 {"error":"temporarily unavailable"}  the channel could not be opened (logged; retried
//	                                          on the next request), with Retry-After
//
// The sender retries both (Stripe for up to three days), so no event is lost while the
// configuration is fixed.
type Webhook struct {
	opts Options
	pipe *pipeline.Webhook
}

var _ http.Handler = (*Webhook)(nil)

// NewWebhook returns the webhook function. It reads nothing yet and never fails: see [Webhook].
func NewWebhook(opts *Options) *Webhook {
	o := opts.withDefaults()
	return &Webhook{opts: o, pipe: pipeline.NewWebhook(platform, o.FunctionOptions)}
}

// ServeHTTP answers a request that the host forwarded as it came (request-forwarding mode).
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.pipe.ServeHTTP(rw, r) }

// Invocation returns the handler for the host's default invocation mode: it reads the request
// from Data.<Bindings.HTTPTrigger> and answers the host with 200 and
//
//	{"Outputs":{"res":{"statusCode":"200","status":"200","body":"{\"received\":true,...}",
//	  "headers":{"Content-Type":"application/json",...}}},"Logs":[...],"ReturnValue":null}
//
// where res is Bindings.HTTPOutput and the response is the one [Webhook.ServeHTTP] would give.
// The host sends that response to Stripe. An invocation request it cannot read is answered
// with 400 and no Outputs (the host then fails the invocation and answers Stripe with 500, which
// Stripe retries).
//
// The host passes a JSON request body as a string (Data.req.Body), read as text. Stripe signs
// the exact bytes it sent; a UTF-8 body, which Stripe always sends, survives that unchanged, and
// the signature is verified on it as on a forwarded request. A request without Content-Length
// (chunked) arrives without a body and is refused; Stripe always sends Content-Length.
func (w *Webhook) Invocation() http.Handler {
	return http.HandlerFunc(w.serveInvocation)
}

func (w *Webhook) serveInvocation(rw http.ResponseWriter, r *http.Request) {
	inv, ok := readInvocation(rw, r, w.opts.MaxInvocationBytes)
	if !ok {
		return
	}
	raw, found := binding(inv.Data, w.opts.Bindings.HTTPTrigger)
	if !found {
		err := &BindingError{Binding: w.opts.Bindings.HTTPTrigger, Found: keys(inv.Data)}
		w.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "azurefunctions: webhook invocation refused", slog.String("error", err.Error()))
		writeInvocationError(rw, http.StatusBadRequest, err.Error())
		return
	}
	req, err := DecodeHTTPRequest(raw)
	if err != nil {
		w.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "azurefunctions: webhook invocation refused", slog.String("error", err.Error()))
		writeInvocationError(rw, http.StatusBadRequest, err.Error())
		return
	}
	resp := w.accept(r.Context(), req)
	out := InvokeResponse{
		Outputs: map[string]any{w.opts.Bindings.HTTPOutput: NewHTTPResponse(resp.Status, resp.Header(), resp.Body())},
		Logs:    []string{webhookLog(resp)},
	}
	writeJSON(rw, http.StatusOK, out)
}

// accept answers one webhook request, given as the host passed it.
func (w *Webhook) accept(ctx context.Context, req HTTPRequest) emitter.Response {
	if req.Method != http.MethodPost {
		return emitter.Response{Status: http.StatusMethodNotAllowed, Reason: emitter.ReasonMethodNotAllowed}
	}
	return w.pipe.Accept(ctx, req.Header, req.Body)
}

// webhookLog is the line for the invocation log: the outcome, never the body or a secret.
func webhookLog(resp emitter.Response) string {
	switch {
	case resp.Status >= 200 && resp.Status <= 299 && resp.Skipped:
		return fmt.Sprintf("hookline: webhook %d: event skipped", resp.Status)
	case resp.Status >= 200 && resp.Status <= 299:
		return fmt.Sprintf("hookline: webhook %d: event %s sent", resp.Status, resp.EventID)
	}
	return fmt.Sprintf("hookline: webhook %d: %s", resp.Status, string(resp.Body()))
}

// Close shuts the channel down if the webhook opened it. Call it when the custom handler
// stops: a Send that returned has delivered its message, so there is nothing to flush.
func (w *Webhook) Close(ctx context.Context) error { return w.pipe.Close(ctx) }
