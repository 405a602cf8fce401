package sink

import (
	"context"

	"github.com/hookline/hookline"
)

// Result says what a write did to the record its event concerns.
type Result int

const (
	// Stored: the event created, updated, deactivated or deleted the record.
	Stored Result = iota
	// Ignored: the record already reflected this event or a newer one ([Version]), so nothing
	// changed. Stripe's retries, broker redeliveries and late events end here.
	Ignored
)

// String returns "stored" or "ignored", the values of the hookline.outcome metric attribute.
func (r Result) String() string {
	if r == Ignored {
		return "ignored"
	}
	return "stored"
}

// Applier is a Sink that reports whether a write changed anything. Its Write has Apply's effect.
// Every sink in this module that keeps records is one: [Memory], sqlsink.Sink, dataverse.Sink.
// Stdout and Discard keep none and are not.
type Applier interface {
	Sink
	// Apply writes ev as Write does and reports whether it changed the record. The Result is
	// meaningful only when the error is nil.
	Apply(ctx context.Context, ev hookline.Event) (Result, error)
}

// Apply writes ev to s and reports what it did: through s.Apply when s is an [Applier], else
// through Write, in which case a nil error counts as Stored.
func Apply(ctx context.Context, s Sink, ev hookline.Event) (Result, error) {
	if a, ok := s.(Applier); ok {
		return a.Apply(ctx, ev)
	}
	return Stored, s.Write(ctx, ev)
}
