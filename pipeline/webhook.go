package pipeline

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/internal/lazy"
)

// ReasonNotConfigured is the reason in the JSON error body of a function that lacks its
// configuration (emitter's format).
const ReasonNotConfigured = "function not configured"

// Webhook is the webhook opened on first use: on the first request it reads the
// configuration, opens the channel (unless Options.Sender is set) and builds the
// [emitter.Handler]; later requests reuse them. A failed start is tried again on the next
// request.
type Webhook struct {
	platform Platform
	opts     FunctionOptions
	parts    *lazy.Value[*webhookParts]
}

type webhookParts struct {
	h      *emitter.Handler
	sender *channel.Sender
	owned  bool
}

var _ http.Handler = (*Webhook)(nil)

// NewWebhook returns the webhook of platform. It opens nothing yet and never fails, but it checks
// the configuration at once ([Webhook.Check]) and logs at ERROR, once, what can never work (a
// missing secret, a channel URL whose scheme no linked driver serves), so that the platform's
// log says it when the instance starts rather than on the first delivery. Such a webhook answers
// every delivery 500 "function not configured" until the settings are fixed.
func NewWebhook(platform Platform, opts FunctionOptions) *Webhook {
	w := &Webhook{platform: platform, opts: opts.WithDefaults()}
	w.parts = lazy.New(w.build)
	if err := w.Check(); err != nil {
		w.opts.Logger.Error(platform.Name+": webhook is not configured", slog.String("error", err.Error()))
	}
	return w
}

// Check reads the configuration and reports, without connecting to anything, what can never
// work: a configuration error ([IsConfigError]) or nil.
func (w *Webhook) Check() error {
	if w.opts.Source != nil {
		if w.opts.Sender != nil {
			return nil
		}
		return w.platform.CheckChannel(FunctionConfigFromEnv(w.opts.Getenv))
	}
	_, err := w.source()
	return err
}

// source checks the configuration and opens the source it names.
func (w *Webhook) source() (emitter.Source, error) {
	cfg := FunctionConfigFromEnv(w.opts.Getenv)
	if err := w.platform.CheckWebhook(cfg, w.opts.Sender != nil); err != nil {
		return nil, err
	}
	src, err := emitter.OpenSource(cfg.Source, cfg.Secrets)
	if err != nil {
		return nil, w.platform.ConfigError(EnvSource + "=" + cfg.Source + ": " + err.Error())
	}
	return src, nil
}

func (w *Webhook) build(ctx context.Context) (*webhookParts, error) {
	if err := w.Check(); err != nil {
		return nil, err
	}
	src := w.opts.Source
	if src == nil {
		var err error
		if src, err = w.source(); err != nil {
			return nil, err
		}
	}
	cfg := FunctionConfigFromEnv(w.opts.Getenv)
	parts := &webhookParts{sender: w.opts.Sender}
	if parts.sender == nil {
		sender, err := channel.OpenSender(ctx, cfg.Channel, nil)
		if err != nil {
			return nil, err
		}
		parts.sender, parts.owned = sender, true
	}
	var hopts emitter.HandlerOptions
	if w.opts.Handler != nil {
		hopts = *w.opts.Handler
	}
	if hopts.Logger == nil {
		hopts.Logger = w.opts.Logger
	}
	h, err := emitter.NewHandler(src, parts.sender, &hopts)
	if err != nil {
		_ = parts.close(ctx)
		return nil, err
	}
	parts.h = h
	return parts, nil
}

func (p *webhookParts) close(ctx context.Context) error {
	if p.owned {
		return p.sender.Shutdown(ctx)
	}
	return nil
}

// Handler returns the webhook's handler, building it on first use. An error is a configuration
// error ([IsConfigError]) or the channel's.
func (w *Webhook) Handler(ctx context.Context) (*emitter.Handler, error) {
	parts, err := w.parts.Get(ctx)
	if err != nil {
		return nil, err
	}
	return parts.h, nil
}

// started is Handler, logging why the webhook cannot start.
func (w *Webhook) started(ctx context.Context) (*emitter.Handler, error) {
	h, err := w.Handler(ctx)
	if err != nil {
		w.opts.Logger.LogAttrs(ctx, slog.LevelError, w.platform.Name+": webhook cannot start",
			slog.Int("status", Failure(err).Status), slog.String("error", err.Error()))
	}
	return h, err
}

// ServeHTTP answers like the emitter.Handler once built, and otherwise with [Failure]: 500 for
// a configuration error, 503 with Retry-After when the channel cannot be opened (both logged).
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	h, err := w.started(r.Context())
	if err != nil {
		WriteResponse(rw, Failure(err))
		return
	}
	h.ServeHTTP(rw, r)
}

// Accept answers one delivery already read from its request, like ServeHTTP.
func (w *Webhook) Accept(ctx context.Context, header http.Header, body []byte) emitter.Response {
	h, err := w.started(ctx)
	if err != nil {
		return Failure(err)
	}
	return h.Accept(ctx, header, body)
}

// Close shuts the channel down if the webhook opened it.
func (w *Webhook) Close(ctx context.Context) error {
	if parts, ok := w.parts.Built(); ok {
		return parts.close(ctx)
	}
	return nil
}

// Failure says how to answer a failed start: 500 for a configuration error, 503 with
// Retry-After otherwise.
func Failure(err error) emitter.Response {
	if IsConfigError(err) {
		return emitter.Response{Status: http.StatusInternalServerError, Reason: ReasonNotConfigured}
	}
	return emitter.Response{Status: http.StatusServiceUnavailable, Reason: emitter.ReasonUnavailable,
		RetryAfter: emitter.DefaultRetryAfter}
}

// WriteResponse writes resp to rw.
func WriteResponse(rw http.ResponseWriter, resp emitter.Response) {
	h := rw.Header()
	for k, v := range resp.Header() {
		h[k] = v
	}
	rw.WriteHeader(resp.Status)
	_, _ = rw.Write(resp.Body())
}
