package gcpfunctions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/pipeline"
)

// Processor writes the events of Pub/Sub messages to the sink, with the consumer loop's rules
// ([channel.Processor]): retries with backoff within one delivery, and permanent failures,
// undecodable messages and messages past MaxDeliveries sent to the dead-letter channel. It takes
// messages in two shapes:
//
//   - [Processor.HandleCloudEvent], a CloudEvent function (functions.CloudEvent) for Eventarc's
//     messagePublished events: what `gcloud functions deploy --trigger-topic` delivers.
//   - [Processor.ServeHTTP], an HTTP function for a plain Pub/Sub push subscription.
//
// Either way a nil error (a 2xx answer) acknowledges the message and anything else makes Pub/Sub
// deliver it again. On the first message of an instance it reads the configuration and opens the
// sink and the dead-letter channel; when that fails the message is returned to Pub/Sub (and the
// failure logged) and the next message tries again.
type Processor struct {
	opts Options
	pipe *pipeline.Processor
}

var _ http.Handler = (*Processor)(nil)

// NewProcessor returns the processor function. It reads nothing yet and never fails: see
// [Processor].
func NewProcessor(opts *Options) *Processor {
	o := opts.withDefaults()
	return &Processor{opts: o, pipe: pipeline.NewProcessor(platform, o.FunctionOptions)}
}

// Process handles one push request: the message data is the encoded event, its attributes the
// metadata and DeliveryAttempt the delivery count. A nil error means the message is done
// (processed, or dead-lettered); an error means Pub/Sub must deliver it again.
func (p *Processor) Process(ctx context.Context, req PushRequest) error {
	cp, err := p.pipe.Get(ctx)
	if err != nil {
		p.opts.Logger.LogAttrs(ctx, slog.LevelError, "gcpfunctions: processor cannot start; message returned to Pub/Sub",
			slog.String("message_id", req.Message.MessageID), slog.String("error", err.Error()))
		return fmt.Errorf("gcpfunctions: processor cannot start: %w", err)
	}
	return cp.Process(ctx, req.Message.Data, req.Message.Attributes, req.DeliveryAttempt)
}

// HandleCloudEvent is the CloudEvent function for Pub/Sub messagePublished events. It refuses,
// with an error and so a redelivery, events of any other type: a trigger pointed at the wrong
// source is a deployment error that must show, not lose events.
func (p *Processor) HandleCloudEvent(ctx context.Context, e event.Event) error {
	if e.Type() != MessagePublishedType {
		p.opts.Logger.LogAttrs(ctx, slog.LevelError, "gcpfunctions: unexpected CloudEvent type; deploy the processor with a Pub/Sub trigger",
			slog.String("type", e.Type()), slog.String("source", e.Source()), slog.String("id", e.ID()))
		return fmt.Errorf("gcpfunctions: CloudEvent type %q is not %s", e.Type(), MessagePublishedType)
	}
	req, err := DecodePushRequest(e.Data())
	if err != nil {
		p.opts.Logger.LogAttrs(ctx, slog.LevelError, "gcpfunctions: undecodable messagePublished event",
			slog.String("id", e.ID()), slog.String("error", err.Error()))
		return err
	}
	return p.Process(ctx, req)
}

// ServeHTTP is the HTTP function for a Pub/Sub push subscription. It answers
//
//	204                                        processed or dead-lettered: Pub/Sub acknowledges
//	400 {"error":"not a Pub/Sub push request"} the body is not a push request
//	405, 413                                   not a POST; body over MaxPushBytes
//	500 {"error":"function not configured"}    a variable is missing or unusable
//	503 {"error":"temporarily unavailable"}    processing failed: Pub/Sub delivers it again
//
// Pub/Sub acknowledges 102, 200, 201, 202 and 204 and redelivers on anything else.
func (p *Processor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		pipeline.WriteResponse(w, emitter.Response{Status: http.StatusMethodNotAllowed, Reason: emitter.ReasonMethodNotAllowed})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.opts.MaxPushBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			pipeline.WriteResponse(w, emitter.Response{Status: http.StatusRequestEntityTooLarge, Reason: emitter.ReasonBodyTooLarge})
			return
		}
		pipeline.WriteResponse(w, emitter.Response{Status: http.StatusBadRequest, Reason: emitter.ReasonUnreadableBody})
		return
	}
	req, err := DecodePushRequest(body)
	if err != nil {
		p.opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "gcpfunctions: push request refused", slog.String("error", err.Error()))
		pipeline.WriteResponse(w, emitter.Response{Status: http.StatusBadRequest, Reason: "not a Pub/Sub push request"})
		return
	}
	if err := p.Process(r.Context(), req); err != nil {
		resp := pipeline.Failure(err)
		if !pipeline.IsConfigError(err) {
			p.opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "gcpfunctions: message returned to Pub/Sub",
				slog.String("message_id", req.Message.MessageID), slog.Int("delivery_attempt", req.DeliveryAttempt),
				slog.String("error", err.Error()))
		}
		pipeline.WriteResponse(w, resp)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Stats returns the processor's counters (Retries and DeadLettered), zero before the first message.
func (p *Processor) Stats() channel.Stats { return p.pipe.Stats() }

// Close shuts the dead-letter channel down and closes the sink it opened, if it was built. Cloud
// Functions gives no shutdown hook to a Go function; Close is for tests and for programs that
// embed the processor.
func (p *Processor) Close(ctx context.Context) error { return p.pipe.Close(ctx) }
