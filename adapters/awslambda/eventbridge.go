package awslambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/eventlog"
)

// StripeSourcePrefix begins the source of every event that Stripe's Amazon EventBridge event
// destination publishes: "aws.partner/stripe.com/" and the name of the partner event source.
const StripeSourcePrefix = "aws.partner/stripe.com/"

// ErrNotStripe is returned (wrapped, and marked permanent) for an EventBridge event whose source
// is not a Stripe partner event source, or not one of [EventBridgeOptions].Sources.
var ErrNotStripe = errors.New("awslambda: EventBridge event is not from Stripe's partner event source")

// EventBridgeOptions configures an [EventBridge] handler. A nil pointer and zero fields mean the
// defaults.
type EventBridgeOptions struct {
	// Sources, when not empty, are the exact event source names accepted, such as
	// "aws.partner/stripe.com/ed_test_61Rz..." (the name of your partner event source). By
	// default any source that starts with StripeSourcePrefix is accepted.
	Sources []string
	// Stripe selects and refuses events as for a webhook (Types, RefuseTestMode,
	// StrictAPIVersion); Tolerance does not apply. Default: all events.
	Stripe *stripehook.Options
	// SendTimeout bounds the send to the channel. Default emitter.DefaultSendTimeout.
	SendTimeout time.Duration
	// Logger receives one record per refused or failed event. Default: discard.
	Logger *slog.Logger
}

// EventBridge sends Stripe events that Stripe's Amazon EventBridge event destination published,
// and an EventBridge rule delivered to a Lambda function, to a channel. It is safe for
// concurrent use.
type EventBridge struct {
	dst     emitter.Sender
	sources []string
	stripe  *stripehook.Options
	timeout time.Duration
	log     *slog.Logger
}

// NewEventBridge returns an EventBridge handler that sends events with dst.
func NewEventBridge(dst emitter.Sender, opts *EventBridgeOptions) (*EventBridge, error) {
	if dst == nil {
		return nil, errors.New("awslambda: NewEventBridge: Sender is nil")
	}
	var o EventBridgeOptions
	if opts != nil {
		o = *opts
	}
	for _, s := range o.Sources {
		if !strings.HasPrefix(s, StripeSourcePrefix) || len(s) == len(StripeSourcePrefix) {
			return nil, fmt.Errorf("awslambda: EventBridgeOptions.Sources: %q is not a Stripe partner event source name (%s...)",
				s, StripeSourcePrefix)
		}
	}
	// Check the options once, here, rather than fail every event: an empty body fails as
	// malformed only after the options were accepted.
	if _, err := stripehook.DecodeUnverified(nil, o.Stripe); !errors.Is(err, stripehook.ErrMalformedEvent) {
		return nil, fmt.Errorf("awslambda: EventBridgeOptions.Stripe: %w", err)
	}
	b := &EventBridge{dst: dst, sources: o.Sources, stripe: o.Stripe, timeout: o.SendTimeout, log: o.Logger}
	if b.timeout <= 0 {
		b.timeout = emitter.DefaultSendTimeout
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return b, nil
}

// Handle decodes the Stripe event in ev.Detail and sends it. It returns nil when the event was
// sent or deliberately skipped (Options.Types), and an error otherwise: marked permanent
// (hookline.Code) for an event that is not from Stripe or not a Stripe snapshot event, transient
// when the send failed. Lambda retries an asynchronous invocation that returned an error twice,
// then hands it to the function's on-failure destination.
//
// # Security
//
// The event carries no Stripe signature. It is trusted because of where it comes from: Stripe
// publishes it to a partner event source in your account, and EventBridge refuses PutEvents
// calls whose source starts with "aws.", so nobody else can publish an event with the source
// checked here. Handle refuses every other source, so a rule that also matches other events
// cannot feed forged Stripe events in. Anyone who can invoke this function directly can still
// pass it any payload: grant lambda:InvokeFunction to the EventBridge rule only.
func (b *EventBridge) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	if !b.trusted(ev.Source) {
		b.log.LogAttrs(ctx, slog.LevelError, "awslambda: EventBridge event refused",
			slog.String("eventbridge_id", ev.ID), slog.String("source", ev.Source))
		return hookline.MarkPermanent(fmt.Errorf("%w: source %q", ErrNotStripe, ev.Source))
	}
	e, err := stripehook.DecodeUnverified(ev.Detail, b.stripe)
	if errors.Is(err, emitter.ErrSkip) {
		return nil
	}
	if err != nil {
		b.log.LogAttrs(ctx, slog.LevelError, "awslambda: Stripe event in EventBridge detail refused",
			slog.String("eventbridge_id", ev.ID), slog.String("error", err.Error()))
		return hookline.MarkPermanent(fmt.Errorf("awslambda: EventBridge event %s: %w", ev.ID, err))
	}
	sctx, cancel := context.WithTimeout(ctx, b.timeout)
	err = b.dst.Send(sctx, e)
	cancel()
	if err != nil {
		b.log.LogAttrs(ctx, slog.LevelError, "awslambda: send failed",
			eventlog.Attrs(ctx, e, slog.String("error", err.Error()))...)
		return hookline.MarkTransient(fmt.Errorf("awslambda: send event %s: %w", e.ID, err))
	}
	return nil
}

func (b *EventBridge) trusted(source string) bool {
	if len(b.sources) > 0 {
		return slices.Contains(b.sources, source)
	}
	return strings.HasPrefix(source, StripeSourcePrefix) && len(source) > len(StripeSourcePrefix)
}
