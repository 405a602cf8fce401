package channel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Processor applies the consumer loop's rules to messages that a runtime pushes instead of a
// [Consumer] pulling them: an AWS Lambda SQS trigger, an Azure Functions Service Bus trigger, a
// Pub/Sub push subscription or Eventarc. The runtime owns acknowledgement: a nil error from
// [Processor.Process] tells it the message is done, an error tells it to deliver the message
// again (Lambda reports it in batchItemFailures, Functions abandons it, Pub/Sub redelivers).
//
// The rules are the consumer's: the handler is tried up to MaxAttempts times with backoff and a
// per-call Timeout, panics count as failures, a Permanent failure, an undecodable message and a
// message delivered more than MaxDeliveries times go to the DeadLetter channel with the reason
// in its metadata and are then done. Without a DeadLetter channel, or when the dead-letter send
// fails, they are returned to the runtime (and so, in the end, to the broker's own dead-letter
// queue).
type Processor struct {
	c *Consumer
}

// ProcessorOptions tunes a [Processor]. It holds the rules of [ConsumerOptions] that apply to
// pushed messages, with the same meanings and defaults; how many messages run at once, how
// shutdown drains them and when a message is acknowledged are the runtime's to decide. A nil
// *ProcessorOptions and zero fields mean the defaults.
type ProcessorOptions struct {
	// Timeout is the deadline of one handler call. Default 30s.
	Timeout time.Duration
	// MaxAttempts is how many times one delivery is tried before Process returns an error, so
	// that the runtime delivers the message again. Default 3.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential backoff between attempts (full jitter).
	// Defaults 100ms and 5s. A failure that carries a Retry-After waits at least that long.
	MinBackoff, MaxBackoff time.Duration
	// MaxDeliveries dead-letters a message the runtime reports as delivered more than this many
	// times. Default 10.
	MaxDeliveries int
	// DeadLetter receives permanent failures, undecodable messages and messages past
	// MaxDeliveries. When nil, Process returns such messages to the runtime with an error.
	DeadLetter *Sender
	// Logger receives the processor's logs. Default: none.
	Logger *slog.Logger
	// TracerProvider gives the tracer of the process spans (see the package doc,
	// # Observability). Default: the global provider, otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider gives the meter of the processor's metrics (see the package doc,
	// # Observability). Default: the global provider, otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Sink names the sink in the hookline.* metrics, as ConsumerOptions.Sink. Default: none.
	Sink string
	// Subscription is the URL of the subscription or queue the runtime delivers from, as
	// [OpenReceiver] would take it ("awssqs://sqs.us-east-2.amazonaws.com/123456789012/q"): it
	// names the process spans ("process q") and gives their messaging.system and
	// messaging.destination.name (the registered [Broker] of its scheme gives messaging.system),
	// and the metrics' too. A bare scheme ("azuresb://") gives messaging.system alone. Nothing is
	// opened. Default: none ("process").
	Subscription string
}

// consumerOptions returns the consumer rules o stands for.
func (o *ProcessorOptions) consumerOptions() *ConsumerOptions {
	if o == nil {
		return nil
	}
	return &ConsumerOptions{
		Timeout: o.Timeout, MaxAttempts: o.MaxAttempts, MinBackoff: o.MinBackoff, MaxBackoff: o.MaxBackoff,
		MaxDeliveries: o.MaxDeliveries, DeadLetter: o.DeadLetter, Logger: o.Logger,
		TracerProvider: o.TracerProvider, MeterProvider: o.MeterProvider, Sink: o.Sink,
	}
}

// NewProcessor returns a Processor that hands decoded events to h. A nil opts means the defaults.
func NewProcessor(h Handler, opts *ProcessorOptions) (*Processor, error) {
	if h == nil {
		return nil, errors.New("channel: NewProcessor needs a handler")
	}
	c := &Consumer{handle: h, opts: opts.consumerOptions().withDefaults(), counts: newDeliveryCounter()}
	var sub string
	if opts != nil {
		sub = opts.Subscription
	}
	c.trace = newTracing(c.opts.TracerProvider, sub, nil)
	c.meters = newMeters(c.opts.MeterProvider, c.trace, c.opts.Sink)
	return &Processor{c: c}, nil
}

// Process handles one pushed message: body and metadata as the broker delivered them (message
// attributes or application properties), and the delivery count the runtime reports (SQS
// ApproximateReceiveCount, Service Bus DeliveryCount, Pub/Sub deliveryAttempt), or 0 when it
// reports none, in which case MaxDeliveries is left to the broker's own redrive policy.
// It runs in a "process" span (see the package doc, # Observability) that continues the trace
// context the message carries in metadata or body.
func (p *Processor) Process(ctx context.Context, body []byte, metadata map[string]string, delivery int) error {
	v, err := p.c.settle(ctx, body, metadata, delivery, delivery)
	switch {
	case v.kind == retry:
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("channel: processing failed after %d attempts, deliver again: %w", v.attempts, v.err)
	case err != nil:
		return fmt.Errorf("channel: %s message could not be dead-lettered (%s), deliver again: %w", v.kind, v.reason, err)
	}
	return nil
}

// Stats returns a snapshot of the processor's counters (Retries and DeadLettered).
func (p *Processor) Stats() Stats { return p.c.Stats() }
