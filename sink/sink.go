// Package sink defines where events end: the [Sink] interface, the ordering rule every sink
// applies ([Version]), a URL registry ([Open], [Register]) and small sinks for tests, dry runs and
// benchmarks ([Memory], [Stdout], [Discard]).
//
// # Delivery semantics
//
// A channel delivers at least once: Stripe retries deliveries and brokers redeliver messages, and
// neither keeps events in order. A Sink therefore must be idempotent and order-aware: writing the
// same event twice has the effect of writing it once, and an event older than the one that last
// wrote a record (by [hookline.Event.Time]) must not overwrite it. The conformance suite in
// sink/sinktest checks both.
//
// # Errors
//
// Write classifies its failures with the codes of the hookline package: [hookline.Transient]
// (retried, then returned to the broker), [hookline.Permanent] (dead-lettered). Implementations do
// not retry themselves; the consumer loop in package channel does.
package sink

import (
	"context"

	"github.com/hookline/hookline"
)

// Sink consumes events. Write must be safe for concurrent use, idempotent per event and must never
// let an older event overwrite what a newer one wrote. It returns ctx's error unwrapped when ctx
// ends first.
type Sink interface {
	Write(ctx context.Context, ev hookline.Event) error
	// Close releases the sink's resources. Write must not be called after Close.
	Close() error
}

// Func adapts a function to a Sink whose Close does nothing.
type Func func(ctx context.Context, ev hookline.Event) error

// Write calls f.
func (f Func) Write(ctx context.Context, ev hookline.Event) error { return f(ctx, ev) }

// Close does nothing.
func (Func) Close() error { return nil }

var _ Sink = Func(nil)
