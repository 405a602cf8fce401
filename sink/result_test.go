package sink_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/sinktest"
)

func TestApply(t *testing.T) {
	ctx := context.Background()
	ev := sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{"id":"cus_1"}`)

	// An Applier's Result comes through.
	m := sink.NewMemory()
	for i, want := range []sink.Result{sink.Stored, sink.Ignored} {
		if got, err := sink.Apply(ctx, m, ev); err != nil || got != want {
			t.Fatalf("Apply #%d on Memory = %v, %v; want %v, nil", i+1, got, err, want)
		}
	}
	if m.Writes() != 2 || m.Applied() != 1 {
		t.Fatalf("Memory counted %d writes, %d applied; want 2, 1", m.Writes(), m.Applied())
	}

	// A plain Sink is written with Write: a nil error counts as Stored, an error comes through.
	calls := 0
	var plain sink.Sink = sink.Func(func(context.Context, hookline.Event) error { calls++; return nil })
	if got, err := sink.Apply(ctx, plain, ev); err != nil || got != sink.Stored || calls != 1 {
		t.Fatalf("Apply on a plain sink = %v, %v after %d calls; want stored, nil after 1", got, err, calls)
	}
	boom := errors.New("boom")
	failing := sink.Func(func(context.Context, hookline.Event) error { return boom })
	if _, err := sink.Apply(ctx, failing, ev); !errors.Is(err, boom) {
		t.Fatalf("Apply on a failing sink: error %v, want %v", err, boom)
	}

	// Stdout and Discard keep no records: they are plain sinks, and every write counts as Stored.
	for _, s := range []sink.Sink{sink.NewDiscard(), sink.NewStdout(new(nopWriter))} {
		if _, ok := s.(sink.Applier); ok {
			t.Errorf("%T is an Applier; it keeps no records", s)
		}
		for range 2 {
			if got, err := sink.Apply(ctx, s, ev); err != nil || got != sink.Stored {
				t.Errorf("Apply on %T = %v, %v; want stored, nil", s, got, err)
			}
		}
	}
}

func TestResultString(t *testing.T) {
	if sink.Stored.String() != "stored" || sink.Ignored.String() != "ignored" {
		t.Fatalf("String() = %q, %q; want stored, ignored", sink.Stored, sink.Ignored)
	}
}

type nopWriter struct{}

func (*nopWriter) Write(p []byte) (int, error) { return len(p), nil }
