package gcpfunctions

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
)

// Reasons in the JSON error bodies of the functions' own answers (emitter's format).
const (
	ReasonNotConfigured = "function not configured"
	ReasonUnavailable   = emitter.ReasonUnavailable
)

// Webhook is the Stripe webhook as an HTTP function: register its ServeHTTP with
// functions.HTTP. On the first request of an instance it reads the configuration, opens the
// channel and builds the [emitter.Handler]; later requests reuse them. It answers like the
// emitter.Handler once built (2xx only after the channel accepted the event), and otherwise:
//
//	500 {"error":"function not configured"}   a variable is missing or unusable (logged)
//	503 {"error":"temporarily unavailable"}  the channel could not be opened (logged; retried
//	                                          on the next request), with Retry-After
//
// Stripe retries both for up to three days, so no event is lost while the configuration is fixed.
type Webhook struct {
	opts    Options
	handler lazy[*webhookParts]
}

type webhookParts struct {
	h      *emitter.Handler
	sender *channel.Sender
}

var _ http.Handler = (*Webhook)(nil)

// NewWebhook returns the webhook function. It reads nothing yet and never fails: see [Webhook].
func NewWebhook(opts *Options) *Webhook {
	w := &Webhook{opts: opts.withDefaults()}
	w.handler.build = w.build
	return w
}

func (w *Webhook) build(ctx context.Context) (*webhookParts, error) {
	cfg := ConfigFromEnv(w.opts.Getenv)
	if err := cfg.checkWebhook(); err != nil {
		return nil, err
	}
	if _, err := stripehook.New(cfg.Secrets, w.opts.Stripe); err != nil {
		return nil, configErrorf(EnvSecret + ": " + err.Error())
	}
	sender, err := channel.OpenSender(ctx, cfg.Channel)
	if err != nil {
		return nil, err
	}
	var hopts emitter.HandlerOptions
	if w.opts.Handler != nil {
		hopts = *w.opts.Handler
	}
	if hopts.Logger == nil {
		hopts.Logger = w.opts.Logger
	}
	h, err := stripehook.NewHandler(cfg.Secrets, sender, w.opts.Stripe, &hopts)
	if err != nil {
		_ = sender.Shutdown(ctx)
		return nil, err
	}
	return &webhookParts{h: h, sender: sender}, nil
}

// ServeHTTP implements http.Handler.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	parts, err := w.handler.get(r.Context())
	if err != nil {
		resp := failure(err)
		w.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "gcpfunctions: webhook cannot start",
			slog.Int("status", resp.Status), slog.String("error", err.Error()))
		writeResponse(rw, resp)
		return
	}
	parts.h.ServeHTTP(rw, r)
}

// Close shuts the channel down if the webhook opened it. Cloud Functions gives no shutdown hook
// to a Go function, and a Send that returned has delivered its message, so Close is for tests
// and for programs that embed the webhook.
func (w *Webhook) Close(ctx context.Context) error {
	if parts, ok := w.handler.built(); ok {
		return parts.sender.Shutdown(ctx)
	}
	return nil
}

// failure says how to answer a failed build: 500 for a configuration error, 503 otherwise.
func failure(err error) emitter.Response {
	if isConfigError(err) {
		return emitter.Response{Status: http.StatusInternalServerError, Reason: ReasonNotConfigured}
	}
	return emitter.Response{Status: http.StatusServiceUnavailable, Reason: ReasonUnavailable,
		RetryAfter: emitter.DefaultRetryAfter}
}

func writeResponse(rw http.ResponseWriter, resp emitter.Response) {
	h := rw.Header()
	for k, v := range resp.Header() {
		h[k] = v
	}
	rw.WriteHeader(resp.Status)
	_, _ = rw.Write(resp.Body())
}
