package sinktest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// runBatch runs the cases of the batch path on a [sink.BatchApplier].
func runBatch(t *testing.T, h Harness) {
	t.Run("BatchEmpty", func(t *testing.T) { testBatchEmpty(t, h) })
	t.Run("BatchMixed", func(t *testing.T) { testBatchMixed(t, h) })
	t.Run("BatchLarge", func(t *testing.T) { testBatchLarge(t, h) })
	t.Run("BatchConcurrentWriters", func(t *testing.T) { testBatchConcurrent(t, h) })
	t.Run("BatchDoneContext", func(t *testing.T) { testBatchDoneContext(t, h) })
	t.Run("BatchInvalid", func(t *testing.T) { testBatchInvalid(t, h) })
	if h.Unavailable != nil {
		t.Run("BatchUnavailable", func(t *testing.T) { testBatchUnavailable(t, h) })
	}
}

// batcher returns s as a BatchApplier; the batch cases run only on one.
func batcher(t *testing.T, s sink.Sink) sink.BatchApplier {
	t.Helper()
	b, ok := s.(sink.BatchApplier)
	if !ok {
		t.Fatalf("%T is not a sink.BatchApplier", s)
	}
	return b
}

func items(evs ...hookline.Event) []sink.Item {
	out := make([]sink.Item, len(evs))
	for i, ev := range evs {
		out[i] = sink.Item{Event: ev}
	}
	return out
}

// applyBatch applies evs as one batch and fails t unless it returns one Outcome per event.
func applyBatch(t *testing.T, ctx context.Context, b sink.BatchApplier, evs ...hookline.Event) []sink.Outcome {
	t.Helper()
	out := b.ApplyBatch(ctx, items(evs...))
	if len(out) != len(evs) {
		t.Fatalf("ApplyBatch of %d items returned %d outcomes", len(evs), len(out))
	}
	return out
}

// expectOutcome fails t unless o is a success with Result want.
func expectOutcome(t *testing.T, o sink.Outcome, ev hookline.Event, want sink.Result) {
	t.Helper()
	if o.Err != nil {
		t.Errorf("ApplyBatch: item %s %s %s: %v (code %v), want %v", ev.Subject, ev.Type, ev.ID, o.Err, hookline.Code(o.Err), want)
		return
	}
	if o.Result != want {
		t.Errorf("ApplyBatch: item %s %s %s = %v, want %v", ev.Subject, ev.Type, ev.ID, o.Result, want)
	}
}

func testBatchEmpty(t *testing.T, h Harness) {
	b := batcher(t, h.New(t))
	if out := b.ApplyBatch(context.Background(), nil); len(out) != 0 {
		t.Fatalf("ApplyBatch(nil) = %v, want no outcomes", out)
	}
}

// testBatchMixed applies one batch that holds, in arrival order, what a consumer receives
// together: an event older than the stored record, a new subject and its duplicate, a newer and
// an older event of one subject, a creation, deletion and late update of another, and more
// subjects. Every item must have Apply's Result, the older ones of a subject Ignored.
func testBatchMixed(t *testing.T, h Harness) {
	s := h.New(t)
	b := batcher(t, s)
	stored := Event("cus_bm_a", "customer.updated", "evt_bm_a2", T0.Add(2*time.Second), `{"id":"cus_bm_a","v":2}`)
	apply(t, s, stored, sink.Stored)

	lateA := Event("cus_bm_a", "customer.updated", "evt_bm_a1", T0.Add(time.Second), `{"id":"cus_bm_a","v":1}`)
	newB := Event("cus_bm_b", "customer.created", "evt_bm_b1", T0, `{"id":"cus_bm_b"}`)
	newerC := Event("cus_bm_c", "customer.updated", "evt_bm_c2", T0.Add(time.Second), `{"id":"cus_bm_c","v":2}`)
	olderC := Event("cus_bm_c", "customer.created", "evt_bm_c1", T0, `{"id":"cus_bm_c","v":1}`)
	createD := Event("cus_bm_d", "customer.created", "evt_bm_d1", T0, `{"id":"cus_bm_d"}`)
	deleteD := Event("cus_bm_d", "customer.deleted", "evt_bm_d2", T0.Add(time.Second), `{"id":"cus_bm_d","deleted":true}`)
	lateD := Event("cus_bm_d", "customer.updated", "evt_bm_d3", T0.Add(time.Second), `{"id":"cus_bm_d","v":3}`)
	newE := Event("cus_bm_e", "customer.created", "evt_bm_e1", T0, `{"id":"cus_bm_e"}`)

	batch := []hookline.Event{lateA, newB, newerC, createD, newB, olderC, lateD, deleteD, newE}
	out := applyBatch(t, context.Background(), b, batch...)
	expectOutcome(t, out[0], lateA, sink.Ignored)
	expectOutcome(t, out[2], newerC, sink.Stored)
	expectOutcome(t, out[3], createD, sink.Ignored)
	expectOutcome(t, out[5], olderC, sink.Ignored)
	expectOutcome(t, out[6], lateD, sink.Ignored)
	expectOutcome(t, out[7], deleteD, sink.Stored)
	expectOutcome(t, out[8], newE, sink.Stored)
	// The same event twice in one batch: one of them is stored, the other ignored.
	if out[1].Err != nil || out[4].Err != nil {
		t.Fatalf("ApplyBatch: the same event twice: %v, %v", out[1].Err, out[4].Err)
	}
	if n := countStored(out[1], out[4]); n != 1 {
		t.Errorf("ApplyBatch: the same event twice in a batch reported Stored %d times, want once", n)
	}
	for _, want := range []hookline.Event{stored, newB, newerC, deleteD, newE} {
		expect(t, h, s, want)
	}

	// The batch again, as a broker redelivers it: nothing changes, everything is Ignored.
	out = applyBatch(t, context.Background(), b, batch...)
	for i, ev := range batch {
		expectOutcome(t, out[i], ev, sink.Ignored)
	}
	for _, want := range []hookline.Event{stored, newB, newerC, deleteD, newE} {
		expect(t, h, s, want)
	}
}

func countStored(outs ...sink.Outcome) int {
	n := 0
	for _, o := range outs {
		if o.Err == nil && o.Result == sink.Stored {
			n++
		}
	}
	return n
}

// testBatchLarge applies 500 items about 100 subjects, five each in a shuffled order: one item
// per subject, its newest, is stored, and the record holds it.
func testBatchLarge(t *testing.T, h Harness) {
	s := h.New(t)
	b := batcher(t, s)
	var all []hookline.Event
	win := make(map[string]hookline.Event)
	for i := range 100 {
		subject := fmt.Sprintf("cus_bl_%03d", i)
		for j := range 5 {
			typ := "customer.updated"
			if j == 0 {
				typ = "customer.created"
			}
			ev := Event(subject, typ, fmt.Sprintf("evt_bl_%03d_%d", i, j), T0.Add(time.Duration(j)*time.Second),
				fmt.Sprintf(`{"id":%q,"seq":%d}`, subject, j))
			all = append(all, ev)
			win[subject] = ev
		}
	}
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := applyBatch(t, ctx, b, all...)
	for i, ev := range all {
		want := sink.Ignored
		if win[ev.Subject].ID == ev.ID {
			want = sink.Stored
		}
		expectOutcome(t, out[i], ev, want)
	}
	for _, ev := range win {
		expect(t, h, s, ev)
	}
}

// testBatchConcurrent has four writers apply the events of [testConcurrentWriters] in batches of
// seven, each in its own order, while a fifth applies them one at a time: two consumers writing
// the same rows at once. Each event is reported Stored at most once, each subject's newest
// exactly once, and the records converge on the newest.
func testBatchConcurrent(t *testing.T, h Harness) {
	s := h.New(t)
	b := batcher(t, s)
	all, win := concurrentEvents()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		mu     sync.Mutex
		stored = make(map[string]int)
		errs   []error
	)
	note := func(ev hookline.Event, o sink.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case o.Err != nil:
			errs = append(errs, fmt.Errorf("%s %s: %w (code %v)", ev.Subject, ev.ID, o.Err, hookline.Code(o.Err)))
		case o.Result == sink.Stored:
			stored[ev.ID]++
		}
	}
	var wg sync.WaitGroup
	for g := range 5 {
		order := append([]hookline.Event(nil), all...)
		rand.New(rand.NewPCG(uint64(g), 99)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		wg.Go(func() {
			if g == 4 {
				for _, ev := range order {
					res, err := b.Apply(ctx, ev)
					note(ev, sink.Outcome{Result: res, Err: err})
				}
				return
			}
			for len(order) > 0 {
				n := min(7, len(order))
				out := b.ApplyBatch(ctx, items(order[:n]...))
				for i, o := range out {
					note(order[i], o)
				}
				order = order[n:]
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	for _, ev := range all {
		if n := stored[ev.ID]; n > 1 {
			t.Errorf("%s %s reported Stored %d times by concurrent writers, want at most once", ev.Subject, ev.ID, n)
		}
	}
	for _, ev := range win {
		if n := stored[ev.ID]; n != 1 {
			t.Errorf("%s %s, the newest event of its subject, reported Stored %d times by concurrent writers, want once",
				ev.Subject, ev.ID, n)
		}
		expect(t, h, s, ev)
	}
}

func testBatchDoneContext(t *testing.T, h Harness) {
	s := h.New(t)
	b := batcher(t, s)
	evs := []hookline.Event{
		Event("cus_bctx_1", "customer.created", "evt_bctx_1", T0, `{"id":"cus_bctx_1"}`),
		Event("cus_bctx_2", "customer.created", "evt_bctx_2", T0, `{"id":"cus_bctx_2"}`),
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for i, o := range applyBatch(t, canceled, b, evs...) {
		if !errors.Is(o.Err, context.Canceled) {
			t.Errorf("ApplyBatch with a canceled context: item %s: %v, want an error wrapping context.Canceled", evs[i].ID, o.Err)
		}
	}
	for _, ev := range evs {
		expectNone(t, h, s, ev.Subject)
	}
	for i, o := range applyBatch(t, context.Background(), b, evs...) {
		expectOutcome(t, o, evs[i], sink.Stored)
	}
}

// testBatchInvalid puts the invalid events of the harness, and one without a subject, in a batch
// between valid ones: they fail Permanent, the others are stored.
func testBatchInvalid(t *testing.T, h Harness) {
	s := h.New(t)
	b := batcher(t, s)
	first := Event("cus_binv_1", "customer.created", "evt_binv_1", T0, `{"id":"cus_binv_1"}`)
	last := Event("cus_binv_2", "customer.created", "evt_binv_2", T0, `{"id":"cus_binv_2"}`)
	bad := append([]hookline.Event{Event("", "customer.created", "evt_binv_nosubject", T0, `{"id":"cus_x"}`)}, h.Invalid...)
	batch := append(append([]hookline.Event{first}, bad...), last)
	out := applyBatch(t, context.Background(), b, batch...)
	expectOutcome(t, out[0], first, sink.Stored)
	expectOutcome(t, out[len(out)-1], last, sink.Stored)
	for i, ev := range bad {
		expectCode(t, out[i+1].Err, hookline.Permanent, "ApplyBatch: invalid item "+ev.ID)
	}
	expect(t, h, s, first)
	expect(t, h, s, last)
}

func testBatchUnavailable(t *testing.T, h Harness) {
	b := batcher(t, h.Unavailable(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs := []hookline.Event{
		Event("cus_bdown_1", "customer.created", "evt_bdown_1", T0, `{"id":"cus_bdown_1"}`),
		Event("cus_bdown_2", "customer.created", "evt_bdown_2", T0, `{"id":"cus_bdown_2"}`),
	}
	for i, o := range applyBatch(t, ctx, b, evs...) {
		if o.Err == nil {
			t.Fatalf("ApplyBatch to an unavailable backend: item %s returned no error", evs[i].ID)
		}
		switch code := hookline.Code(o.Err); code {
		case hookline.Permanent, hookline.Canceled, hookline.OK:
			t.Fatalf("ApplyBatch to an unavailable backend: item %s: %q has code %v, want Transient (or Unknown)", evs[i].ID, o.Err, code)
		}
	}
}
