package sink_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/sinktest"
)

func TestMemoryConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) sink.Sink {
			m := sink.NewMemory()
			t.Cleanup(func() { m.Close() })
			return m
		},
		Lookup: func(t *testing.T, s sink.Sink, subject string) (sinktest.State, bool) {
			r, ok := s.(*sink.Memory).Get(subject)
			return sinktest.State{EventID: r.Event.ID, Deleted: r.Deleted, Data: r.Event.Data}, ok
		},
	})
}

func TestMemoryCounters(t *testing.T) {
	m := sink.NewMemory()
	ctx := context.Background()
	created := sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{"id":"cus_1"}`)
	updated := sinktest.Event("cus_1", "customer.updated", "evt_2", sinktest.T0.Add(time.Second), `{"id":"cus_1","v":2}`)
	other := sinktest.Event("cus_2", "customer.created", "evt_3", sinktest.T0, `{"id":"cus_2"}`)
	for _, ev := range []hookline.Event{created, updated, created, updated, other} {
		if err := m.Write(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := [3]int{m.Len(), m.Applied(), m.Writes()}, [3]int{2, 3, 5}; got != want {
		t.Fatalf("Len, Applied, Writes = %v, want %v", got, want)
	}
	recs := m.Records()
	if len(recs) != 2 || recs[0].Event.ID != "evt_2" || recs[1].Event.ID != "evt_3" {
		t.Fatalf("Records() = %+v", recs)
	}
}

func TestMemoryCopies(t *testing.T) {
	m := sink.NewMemory()
	ev := sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{"id":"cus_1"}`)
	ev.Metadata = map[string]string{"livemode": "false"}
	if err := m.Write(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	ev.Data[0] = 'X'
	ev.Metadata["livemode"] = "changed"
	r, _ := m.Get("cus_1")
	if string(r.Event.Data) != `{"id":"cus_1"}` || r.Event.Meta("livemode") != "false" {
		t.Fatalf("stored event changed with the caller's copy: %+v", r.Event)
	}
	r.Event.Data[0] = 'Y'
	if r2, _ := m.Get("cus_1"); r2.Event.Data[0] != '{' {
		t.Fatal("Get returned the stored data itself, not a copy")
	}
}

func TestMemoryWait(t *testing.T) {
	m := sink.NewMemory()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		first := sinktest.Event("cus_w", "customer.created", "evt_1", sinktest.T0, "")
		second := sinktest.Event("cus_w", "customer.updated", "evt_2", sinktest.T0.Add(time.Second), "")
		for _, ev := range []hookline.Event{first, second, second} {
			_ = m.Write(ctx, ev)
		}
	}()
	if err := m.Wait(ctx, 2); err != nil {
		t.Fatalf("Wait(2): %v", err)
	}
	if err := m.WaitWrites(ctx, 3); err != nil {
		t.Fatalf("WaitWrites(3): %v", err)
	}
	short, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if err := m.Wait(short, 3); !errors.Is(err, context.DeadlineExceeded) || err != context.DeadlineExceeded {
		t.Fatalf("Wait for a write that never comes = %v, want context.DeadlineExceeded unwrapped", err)
	}
}

func TestMemoryClosed(t *testing.T) {
	m := sink.NewMemory()
	ev := sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, "")
	if err := m.Write(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	err := m.Write(context.Background(), ev)
	if err == nil || hookline.Code(err) == hookline.Permanent {
		t.Fatalf("Write after Close = %v (code %v), want a non-permanent error", err, hookline.Code(err))
	}
	if _, ok := m.Get("cus_1"); !ok {
		t.Fatal("records are gone after Close")
	}
}

func TestMemoryCanceledIsUnwrapped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, s := range []sink.Sink{sink.NewMemory(), sink.NewDiscard(), sink.NewStdout(errWriter{})} {
		if err := s.Write(ctx, sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, "")); err != context.Canceled {
			t.Errorf("%T.Write(canceled ctx) = %v, want context.Canceled itself", s, err)
		}
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }
