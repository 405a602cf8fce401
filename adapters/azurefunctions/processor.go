package azurefunctions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/pipeline"
)

// Processor is the processor as a Service Bus-triggered function: it writes the event of each
// message to the sink with the consumer loop's rules ([channel.Processor]): retries with backoff
// within one delivery, and permanent failures, undecodable messages and messages past
// MaxDeliveries sent to the dead-letter channel.
//
// It serves the host's invocation requests (custom handlers have no forwarding mode for
// non-HTTP triggers) and answers
//
//	200 {"Outputs":{},"Logs":["..."],"ReturnValue":null}  processed or dead-lettered: the host
//	                                                       completes the message
//	500 {"Outputs":{},"Logs":["..."],"ReturnValue":null}  processing failed, or the processor
//	                                                       cannot start: the host fails the
//	                                                       invocation and abandons the message
//	400, 405, 413                                          not an invocation request
//
// An abandoned message is delivered again with DeliveryCount + 1, and Service Bus moves it to
// the queue's dead-letter subqueue after MaxDeliveryCount deliveries. Set MaxDeliveryCount above
// ProcessorOptions.MaxDeliveries (default 10), so that the processor dead-letters first, with
// its reason, to HOOKLINE_DEADLETTER.
//
// On the first message of the process it reads the configuration and opens the sink and the
// dead-letter channel; when that fails the message is abandoned (and the failure logged) and
// the next message tries again.
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

// Process handles one message: its body, its application properties as metadata and its
// DeliveryCount. A nil error means the message is done (processed, or dead-lettered); an error
// means Service Bus must deliver it again.
func (p *Processor) Process(ctx context.Context, m ServiceBusMessage) error {
	cp, err := p.pipe.Get(ctx)
	if err != nil {
		return fmt.Errorf("azurefunctions: processor cannot start: %w", err)
	}
	return cp.Process(ctx, m.Body, m.Properties, m.DeliveryCount)
}

// ServeHTTP implements http.Handler for the host's invocation requests (see [Processor]).
func (p *Processor) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	inv, ok := readInvocation(rw, r, p.opts.MaxInvocationBytes)
	if !ok {
		return
	}
	ctx := r.Context()
	m, err := DecodeServiceBusMessage(inv, p.opts.Bindings.Message)
	if err != nil {
		// A binding missing or in a form nobody sends is a deployment error: the message goes
		// back to Service Bus (and in the end to its dead-letter queue), never lost.
		p.opts.Logger.LogAttrs(ctx, slog.LevelError, "azurefunctions: Service Bus invocation refused", slog.String("error", err.Error()))
		writeInvocationError(rw, http.StatusInternalServerError, err.Error())
		return
	}
	attrs := []slog.Attr{slog.String("message_id", m.MessageID), slog.Int("delivery_count", m.DeliveryCount)}
	if err := p.Process(ctx, m); err != nil {
		p.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "azurefunctions: message abandoned to Service Bus",
			append(attrs, slog.String("error", err.Error()))...)
		msg := fmt.Sprintf("message %s (delivery %d) abandoned: %v", m.MessageID, m.DeliveryCount, err)
		writeInvocationError(rw, http.StatusInternalServerError, msg)
		return
	}
	writeJSON(rw, http.StatusOK, InvokeResponse{
		Logs: []string{fmt.Sprintf("hookline: message %s (delivery %d) done", m.MessageID, m.DeliveryCount)},
	})
}

// Stats returns the processor's counters (Retries and DeadLettered), zero before the first message.
func (p *Processor) Stats() channel.Stats { return p.pipe.Stats() }

// Close shuts the dead-letter channel down and closes the sink, if the processor opened them.
// Call it when the custom handler stops.
func (p *Processor) Close(ctx context.Context) error { return p.pipe.Close(ctx) }
