// Package sinktest is a conformance suite for implementations of sink.Sink that keep one record
// per subject (a row per Stripe object, an entity per id).
//
// A sink package runs it from its tests with a [Harness] that says how to make a fresh sink and
// how to read back what it stored:
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, sinktest.Harness{
//			New:    func(t *testing.T) sink.Sink { ... },
//			Lookup: func(t *testing.T, s sink.Sink, subject string) (sinktest.State, bool) { ... },
//		})
//	}
//
// The suite checks the contract of package sink: writes are idempotent, an older event never
// overwrites a newer one, ties within one second are resolved by [sink.Version] whatever the
// arrival order, deletions stick, concurrent writers converge, a done context changes nothing,
// and failures carry the right [hookline.ErrorCode].
//
// When the sink is a [sink.Applier], the suite also checks what Apply reports, in every case
// above: [sink.Stored] for the first event of a subject and for every event that supersedes the
// stored one (a newer update, a deletion, a newer event after a deletion), [sink.Ignored] for the
// same event again and for an older one (a late update after a deletion included), at most one
// Stored per event among concurrent writers and exactly one for the event that wins. It mixes
// Write and Apply on one sink, so that a Write without Apply's effect shows too. A sink that is
// not an Applier is checked through Write alone.
//
// When the sink is a [sink.BatchApplier], the suite checks its batch path too (the Batch*
// subtests): one Outcome per item, each with the Result and error code Apply would give it; the
// older items of a record in a batch Ignored and its newest stored, also against a newer stored
// record; an invalid item failing Permanent without failing the others; a done context writing
// nothing; 500 items in one batch; and batches of the same rows applied by several writers at
// once, beside a writer applying them one at a time, reporting each event Stored at most once.
package sinktest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// State is what a sink stored for one subject, as the harness reads it back.
type State struct {
	// EventID is the id of the event that last wrote the record.
	EventID string
	// Deleted reports whether that event deleted the subject.
	Deleted bool
	// Data is the stored payload, or nil when the sink does not keep it. It is compared as JSON
	// (key order and spacing do not matter), so a database may reformat it.
	Data []byte
}

// Harness says what a sink can do and how to observe it.
type Harness struct {
	// New returns a fresh, empty sink and registers its cleanup with t.Cleanup. Required.
	New func(t *testing.T) sink.Sink
	// Lookup reads back what s stored for subject, and whether it stored anything. It should
	// read the backend directly (not a cache in s), as a user inspecting it would. Required.
	Lookup func(t *testing.T, s sink.Sink, subject string) (State, bool)
	// Unavailable, if set, returns a sink whose backend cannot be reached. Its Write must fail
	// with an error whose code is neither Permanent nor Canceled (the loop must retry it).
	Unavailable func(t *testing.T) sink.Sink
	// Invalid lists events the sink must reject with hookline.Permanent, besides an event
	// without a subject, which every sink keyed by subject must reject.
	Invalid []hookline.Event
}

// T0 is the creation time of the first event of every subtest: a whole second, as Stripe's
// "created" always is.
var T0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// Event returns a Stripe-like event about subject, stamped as a source stamps it: Source
// "stripe", Type typ, ID id, Time created, Object typ up to its last dot, Action
// hookline.ActionOfType(typ), and Data data (nil when data is empty).
func Event(subject, typ, id string, created time.Time, data string) hookline.Event {
	object := typ
	if i := strings.LastIndexByte(typ, '.'); i >= 0 {
		object = typ[:i]
	}
	ev := hookline.Event{
		ID:      id,
		Source:  "stripe",
		Type:    typ,
		Subject: subject,
		Object:  object,
		Action:  hookline.ActionOfType(typ),
		Time:    created,
	}
	if data != "" {
		ev.Data = []byte(data)
	}
	return ev
}

// Run runs the suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Lookup == nil {
		t.Fatal("sinktest: Harness.New and Harness.Lookup are required")
	}
	t.Run("CreateThenRead", func(t *testing.T) { testCreateThenRead(t, h) })
	t.Run("Duplicate", func(t *testing.T) { testDuplicate(t, h) })
	t.Run("OlderAfterNewer", func(t *testing.T) { testOlderAfterNewer(t, h) })
	t.Run("NewerAfterOlder", func(t *testing.T) { testNewerAfterOlder(t, h) })
	t.Run("SameSecondTies", func(t *testing.T) { testSameSecondTies(t, h) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, h) })
	t.Run("SubjectsAreIndependent", func(t *testing.T) { testSubjectsIndependent(t, h) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, h) })
	t.Run("DoneContext", func(t *testing.T) { testDoneContext(t, h) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, h) })
	// A sink that cannot be unavailable (an in-memory one) has no such case: it is left out
	// rather than skipped, so that a skip always means something that should have run did not.
	if h.Unavailable != nil {
		t.Run("Unavailable", func(t *testing.T) { testUnavailable(t, h) })
	}
	if _, ok := h.New(t).(sink.BatchApplier); ok {
		runBatch(t, h)
	}
}

// write writes ev to s with Write and fails t on error.
func write(t *testing.T, s sink.Sink, ev hookline.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Write(ctx, ev); err != nil {
		t.Fatalf("Write(%s %s %s): %v (code %v)", ev.Subject, ev.Type, ev.ID, err, hookline.Code(err))
	}
}

// apply writes ev to s and fails t on error. When s is a [sink.Applier] it writes with Apply and
// fails t unless the Result is want; otherwise it writes with Write.
func apply(t *testing.T, s sink.Sink, ev hookline.Event, want sink.Result) {
	t.Helper()
	a, ok := s.(sink.Applier)
	if !ok {
		write(t, s, ev)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := a.Apply(ctx, ev)
	if err != nil {
		t.Fatalf("Apply(%s %s %s): %v (code %v)", ev.Subject, ev.Type, ev.ID, err, hookline.Code(err))
	}
	if got != want {
		t.Fatalf("Apply(%s %s %s) = %v, want %v", ev.Subject, ev.Type, ev.ID, got, want)
	}
}

// writer is one way to write to a sink.
type writer struct {
	name  string
	write func(context.Context, hookline.Event) error
}

// writers returns the ways to write to s: Write, and Apply (its Result dropped) when s is a
// [sink.Applier]. Every case that checks what a failed write does runs for each.
func writers(s sink.Sink) []writer {
	ws := []writer{{"Write", s.Write}}
	if a, ok := s.(sink.Applier); ok {
		ws = append(ws, writer{"Apply", func(ctx context.Context, ev hookline.Event) error {
			_, err := a.Apply(ctx, ev)
			return err
		}})
	}
	return ws
}

// expect fails t unless s stores want's event for want's subject.
func expect(t *testing.T, h Harness, s sink.Sink, want hookline.Event) {
	t.Helper()
	got, ok := h.Lookup(t, s, want.Subject)
	if !ok {
		t.Fatalf("Lookup(%s): no record, want event %s", want.Subject, want.ID)
	}
	if got.EventID != want.ID {
		t.Errorf("Lookup(%s): event id %q, want %q", want.Subject, got.EventID, want.ID)
	}
	if del := want.Action == hookline.Deleted; got.Deleted != del {
		t.Errorf("Lookup(%s): deleted %v, want %v", want.Subject, got.Deleted, del)
	}
	if got.Data != nil {
		if eq, err := jsonEqual(got.Data, want.Data); err != nil || !eq {
			t.Errorf("Lookup(%s): data %s, want %s (%v)", want.Subject, got.Data, want.Data, err)
		}
	}
}

// expectNone fails t if s stores anything for subject.
func expectNone(t *testing.T, h Harness, s sink.Sink, subject string) {
	t.Helper()
	if got, ok := h.Lookup(t, s, subject); ok {
		t.Fatalf("Lookup(%s): found record of event %q, want none", subject, got.EventID)
	}
}

// expectCode fails t unless err is not nil and has code want.
func expectCode(t *testing.T, err error, want hookline.ErrorCode, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: returned nil, want a %v error", what, want)
	}
	if got := hookline.Code(err); got != want {
		t.Fatalf("%s: error %q has code %v, want %v", what, err, got, want)
	}
}

func testDoneContext(t *testing.T, h Harness) {
	s := h.New(t)
	ev := Event("cus_ctx", "customer.created", "evt_ctx", T0, `{"id":"cus_ctx"}`)

	for _, w := range writers(s) {
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		err := w.write(canceled, ev)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a canceled context = %v, want an error wrapping context.Canceled", w.name, err)
		}
		expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel2()
		err = w.write(expired, ev)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s with an expired context = %v, want an error wrapping context.DeadlineExceeded", w.name, err)
		}
	}
	expectNone(t, h, s, ev.Subject)

	// The sink still works afterwards, and nothing was stored: the first write stores.
	apply(t, s, ev, sink.Stored)
	expect(t, h, s, ev)
}

func testInvalid(t *testing.T, h Harness) {
	s := h.New(t)
	noSubject := Event("", "customer.created", "evt_nosubject", T0, `{"id":"cus_x"}`)
	for _, w := range writers(s) {
		expectCode(t, w.write(context.Background(), noSubject), hookline.Permanent, w.name+": event without subject")
		for _, ev := range h.Invalid {
			expectCode(t, w.write(context.Background(), ev), hookline.Permanent, w.name+": invalid event "+ev.ID)
			if ev.Subject != "" {
				expectNone(t, h, s, ev.Subject)
			}
		}
	}
}

func testUnavailable(t *testing.T, h Harness) {
	s := h.Unavailable(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, w := range writers(s) {
		err := w.write(ctx, Event("cus_down", "customer.created", "evt_down", T0, `{"id":"cus_down"}`))
		if err == nil {
			t.Fatalf("%s to an unavailable backend returned nil", w.name)
		}
		switch code := hookline.Code(err); code {
		case hookline.Permanent, hookline.Canceled, hookline.OK:
			t.Fatalf("%s to an unavailable backend: %q has code %v, want Transient (or Unknown)", w.name, err, code)
		}
	}
}
