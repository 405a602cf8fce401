// Package sink defines where events end: the [Sink] interface, the ordering rule every sink
// applies ([Version]), a URL registry ([Open], [Register]) and small sinks for tests, dry runs and
// benchmarks ([Memory], [Stdout], [Discard]).
//
// # URLs
//
// [Open] opens a sink from a URL (HOOKLINE_SINK in the examples). A program links the schemes it
// wants by importing their packages, the gocloud way; stdout:// and discard:// are built in:
//
//	stdout://                  one JSON line per event on standard output, for dry runs (Stdout)
//	discard://                 count and drop, for benchmarks (Discard)
//	sqlite://hookline.db       SQLite, pure Go     with: import _ "github.com/hookline/hookline/sink/sqlsink"
//	postgres://user@host/db    PostgreSQL          with: import _ "github.com/hookline/hookline/sink/sqlsink"
//	dataverse://org.crm.dynamics.com?key=...&eventtime=...
//	                           Dataverse           with: import _ "github.com/hookline/hookline/sink/dataverse"
//
// stdout:// and discard:// take no host, path or query. Each other package documents its URL
// parameters; a sink of your own joins the registry with [Register] from its init.
//
// # Delivery semantics
//
// A channel delivers at least once: Stripe retries deliveries and brokers redeliver messages, and
// neither keeps events in order. A Sink therefore must be idempotent and order-aware: writing the
// same event twice has the effect of writing it once, and an event older than the one that last
// wrote a record must not overwrite it. The conformance suite in sink/sinktest checks both; run
// it on a sink of your own with sinktest.Run.
//
// Every sink in this module that keeps records ([Memory], sqlsink, dataverse) applies one rule,
// [Version]: an event overwrites a record only if it is newer than the event that last wrote it,
// comparing Stripe's "created" (whole seconds), then the event's kind (*.created, then any other
// event, then *.deleted), then the event id. So the same event twice changes nothing, an older
// event arriving late is ignored, and a deleted object is not brought back by a late update. Two
// updates of one object within the same second are ordered by event id: the outcome is the same
// whatever order they arrive in and on every replica, but it is not necessarily the update Stripe
// made last. If that matters for an object, fetch it from the Stripe API in your sink.
//
// A write therefore either changes the record or changes nothing, and a caller that logs or
// counts events needs to know which: "event stored" must not be said of a redelivery that was
// ignored. A sink that keeps records is an [Applier]: its Apply method writes as Write does and
// returns the [Result], [Stored] when the event created, updated, deactivated or deleted the
// record and [Ignored] when the record already reflected this event or a newer one. [Memory],
// sqlsink and dataverse are Appliers. Each says Stored only when its own change went through
// (under Memory's lock, by the upsert's row count, by a conditional request that succeeded), so
// of several concurrent writers of one event at most one is told Stored. (Without its event-id
// column, dataverse cannot tell a redelivery from another update in the same second: it writes
// it again and reports Stored; its documentation says when.) Call [Apply] to write to any Sink and learn the Result: a sink that is not an
// Applier, such as [Stdout], [Discard] or a [Func], keeps no records to compare with, and each of
// its successful writes counts as Stored. sinktest.Run checks the Results of an Applier.
//
// In a test of a whole flow, use [Memory] as the sink: after sending, wait for the pipeline with
// [Memory.Wait] rather than sleeping for a fixed time, then read [Memory.Get].
//
// # Errors
//
// Write (and Apply) classifies its failures with the codes of the hookline package: [hookline.Transient]
// (retried, then returned to the broker), [hookline.Permanent] (dead-lettered). Implementations do
// not retry themselves; the consumer loop in package channel does.
//
// # Security
//
// Open's errors never contain the password of the URL; an [Opener] must keep it out of its own
// errors too.
package sink

import (
	"context"

	"github.com/hookline/hookline"
)

// Sink consumes events. Write must be safe for concurrent use, idempotent per event and must never
// let an older event overwrite what a newer one wrote. It returns ctx's error unwrapped when ctx
// ends first. A sink that keeps records should also be an [Applier], so that its callers learn
// whether a write changed anything.
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
