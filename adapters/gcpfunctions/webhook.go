package gcpfunctions

import (
	"context"
	"net/http"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/pipeline"
)

// Reasons in the JSON error bodies of the functions' own answers (emitter's format).
const (
	ReasonNotConfigured = pipeline.ReasonNotConfigured // "function not configured"
	ReasonUnavailable   = emitter.ReasonUnavailable
)

// Webhook is the webhook (of the source HOOKLINE_SOURCE names) as an HTTP function: register its ServeHTTP with
// functions.HTTP. On the first request of an instance it reads the configuration, opens the
// channel and builds the [emitter.Handler]; later requests reuse them. It answers like the
// emitter.Handler once built (2xx only after the channel accepted the event), and otherwise:
//
//	500 {"error":"function not configured"}   a variable is missing or unusable (logged)
//	503 {"error":"temporarily unavailable"}  the channel could not be opened (logged; retried
//	                                          on the next request), with Retry-After
//
// The sender retries both (Stripe for up to three days), so no event is lost while the
// configuration is fixed.
type Webhook struct {
	pipe *pipeline.Webhook
}

var _ http.Handler = (*Webhook)(nil)

// NewWebhook returns the webhook function. It reads nothing yet and never fails: see [Webhook].
func NewWebhook(opts *Options) *Webhook {
	return &Webhook{pipe: pipeline.NewWebhook(platform, opts.withDefaults().FunctionOptions)}
}

// ServeHTTP implements http.Handler.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.pipe.ServeHTTP(rw, r) }

// Close shuts the channel down if the webhook opened it. Cloud Functions gives no shutdown hook
// to a Go function, and a Send that returned has delivered its message, so Close is for tests
// and for programs that embed the webhook.
func (w *Webhook) Close(ctx context.Context) error { return w.pipe.Close(ctx) }
