package channel

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

// batchRecorder is a BatchHandler that records what it is handed and answers with decide.
type batchRecorder struct {
	mu     sync.Mutex
	sizes  []int
	calls  map[string]int
	decide func(ev hookline.Event, call int) BatchResult
	inside atomic.Int64
	peak   atomic.Int64
	linger time.Duration
}

func (b *batchRecorder) handle(ctx context.Context, batch []Delivered) []BatchResult {
	n := b.inside.Add(1)
	defer b.inside.Add(-1)
	for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
	}
	time.Sleep(b.linger)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls == nil {
		b.calls = map[string]int{}
	}
	b.sizes = append(b.sizes, len(batch))
	out := make([]BatchResult, len(batch))
	for i, d := range batch {
		b.calls[d.Event.ID]++
		if d.Context == nil {
			out[i].Err = errors.New("no context for the event")
			continue
		}
		if b.decide != nil {
			out[i] = b.decide(d.Event, b.calls[d.Event.ID])
		}
	}
	return out
}

func (b *batchRecorder) count(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[id]
}

func TestBatchConsumerFailuresStayWithTheirEvents(t *testing.T) {
	s, r := memPair(t)
	dl, nextDead := deadLetters(t)
	var mu sync.Mutex
	settled := map[string]Settled{}
	b := &batchRecorder{decide: func(ev hookline.Event, call int) BatchResult {
		switch ev.ID {
		case "evt_3":
			return BatchResult{Err: hookline.Errorf(hookline.Permanent, "column new_x does not exist")}
		case "evt_5":
			if call == 1 {
				return BatchResult{Err: hookline.Errorf(hookline.Transient, "throttled")}
			}
		case "evt_7":
			return BatchResult{Ignored: true}
		}
		return BatchResult{}
	}}
	opts := fastOpts(dl)
	opts.MaxBatch, opts.BatchWait = 20, 300*time.Millisecond
	opts.OnSettled = func(_ context.Context, st Settled) {
		mu.Lock()
		settled[st.Event.ID] = st
		mu.Unlock()
	}
	sendN(t, s, 10)
	if err := s.SendMessage(context.Background(), &pubsub.Message{Body: []byte("not an event")}); err != nil {
		t.Fatal(err)
	}
	c, err := NewBatchConsumer(r, b.handle, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, c)
	first, second := nextDead(), nextDead()
	waitFor(t, "11 acks", func() bool { return c.Stats().Acked == 11 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	kinds := first.Metadata[MetaDeadLetterKind] + " " + second.Metadata[MetaDeadLetterKind]
	if kinds != "undecodable permanent" && kinds != "permanent undecodable" {
		t.Errorf("dead letters of kinds %q, want one undecodable and one permanent", kinds)
	}
	for _, m := range []*pubsub.Message{first, second} {
		if m.Metadata[MetaDeadLetterKind] == "permanent" && (m.Metadata["ce_id"] != "evt_3" ||
			m.Metadata[MetaDeadLetterReason] != "column new_x does not exist") {
			t.Errorf("permanent dead letter %v, want evt_3's with its reason", m.Metadata)
		}
	}
	for i := range 10 {
		id := "evt_" + string(rune('0'+i))
		want := 1
		if id == "evt_5" {
			want = 2
		}
		if n := b.count(id); n != want {
			t.Errorf("%s handed to the handler %d times, want %d", id, n, want)
		}
	}
	if st := c.Stats(); st.Received != 11 || st.Nacked != 0 || st.DeadLettered != 2 || st.Retries != 1 {
		t.Errorf("stats = %+v", st)
	}
	b.mu.Lock()
	sizes := append([]int(nil), b.sizes...)
	b.mu.Unlock()
	if len(sizes) != 2 || sizes[0] != 10 || sizes[1] != 1 {
		t.Errorf("batches of %v events, want the ten decodable events together, then the one to retry alone", sizes)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, want := range map[string]struct {
		outcome  string
		attempts int
	}{"evt_0": {OutcomeStored, 1}, "evt_3": {OutcomeDeadLettered, 1}, "evt_5": {OutcomeStored, 2}, "evt_7": {OutcomeIgnored, 1}} {
		if st := settled[id]; st.Outcome != want.outcome || len(st.Attempts) != want.attempts {
			t.Errorf("%s settled %s after %d attempts, want %s after %d", id, st.Outcome, len(st.Attempts), want.outcome, want.attempts)
		}
	}
	if st := settled["evt_5"]; st.Attempts[0].Err == nil || st.Attempts[1].Err != nil {
		t.Errorf("evt_5's attempts %+v, want a failure then a success", st.Attempts)
	}
}

func TestBatchConsumerReturnsWhatKeepsFailing(t *testing.T) {
	s, r := memPair(t)
	b := &batchRecorder{decide: func(ev hookline.Event, call int) BatchResult {
		if ev.ID == "evt_1" && call <= 2 { // both attempts of the first delivery
			return BatchResult{Err: errors.New("unclassified failure")}
		}
		return BatchResult{}
	}}
	opts := fastOpts(nil)
	opts.MaxAttempts = 2
	sendN(t, s, 3)
	c, _ := NewBatchConsumer(r, b.handle, opts)
	running(t, c)
	waitFor(t, "3 acks", func() bool { return c.Stats().Acked == 3 })
	if st := c.Stats(); st.Nacked != 1 || st.Received != 4 {
		t.Errorf("stats = %+v; want evt_1 nacked once and delivered again", st)
	}
	if b.count("evt_1") != 3 || b.count("evt_0") != 1 {
		t.Errorf("handler calls evt_1 %d, evt_0 %d; want 3 and 1", b.count("evt_1"), b.count("evt_0"))
	}
}

func TestBatchConsumerPanicsAndWrongCountsFailTheBatch(t *testing.T) {
	for name, misbehave := range map[string]func([]Delivered) []BatchResult{
		"panic":     func([]Delivered) []BatchResult { panic("nil map in user code") },
		"no result": func([]Delivered) []BatchResult { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			s, r := memPair(t)
			var calls atomic.Int64
			h := func(ctx context.Context, batch []Delivered) []BatchResult {
				if calls.Add(1) == 1 {
					return misbehave(batch)
				}
				return make([]BatchResult, len(batch))
			}
			sendN(t, s, 5)
			c, _ := NewBatchConsumer(r, h, fastOpts(nil))
			running(t, c)
			waitFor(t, "5 acks", func() bool { return c.Stats().Acked == 5 })
			if st := c.Stats(); st.Nacked != 0 || st.Retries < 1 {
				t.Errorf("stats = %+v; want the failed call's events retried in their delivery", st)
			}
		})
	}
}

func TestBatchConsumerBoundsCallsAndSize(t *testing.T) {
	s, r := memPair(t)
	b := &batchRecorder{linger: 5 * time.Millisecond}
	opts := fastOpts(nil)
	opts.Concurrency, opts.MaxBatch = 2, 7
	sendN(t, s, 200)
	c, _ := NewBatchConsumer(r, b.handle, opts)
	running(t, c)
	waitFor(t, "200 acks", func() bool { return c.Stats().Acked == 200 })
	if p := b.peak.Load(); p > 2 {
		t.Errorf("%d batch calls at once, want at most 2", p)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	total := 0
	for _, n := range b.sizes {
		if n > 7 {
			t.Errorf("a batch of %d events, want at most 7", n)
		}
		total += n
	}
	if total != 200 {
		t.Errorf("%d events handed over, want 200", total)
	}
}

// A batch consumer's drain gives the in-flight batch's events back when it cannot finish.
func TestBatchConsumerDrainTimeoutReturnsMessages(t *testing.T) {
	s, r := memPair(t)
	started := make(chan struct{}, 1)
	h := func(ctx context.Context, batch []Delivered) []BatchResult {
		started <- struct{}{}
		<-ctx.Done()
		out := make([]BatchResult, len(batch))
		for i := range out {
			out[i].Err = ctx.Err()
		}
		return out
	}
	opts := fastOpts(nil)
	opts.DrainTimeout = 50 * time.Millisecond
	sendN(t, s, 3)
	c, _ := NewBatchConsumer(r, h, opts)
	stop := running(t, c)
	<-started
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Acked != 0 || st.Nacked+st.Released != st.Received || st.Received == 0 {
		t.Errorf("stats = %+v; want every received message given back, none acknowledged", st)
	}
}

func TestBatchSpanLinksEachProcessSpan(t *testing.T) {
	tp, rec := traced(t)
	s, r, dest := tracedPair(t, tp, "trace-batch")
	for i := range 3 {
		if err := s.Send(context.Background(), testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	opts := fastOpts(nil)
	opts.TracerProvider, opts.BatchWait = tp, 300*time.Millisecond
	c, err := NewBatchConsumer(r, func(ctx context.Context, batch []Delivered) []BatchResult {
		return make([]BatchResult, len(batch))
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, c)
	waitFor(t, "3 acks", func() bool { return c.Stats().Acked == 3 })
	stop()
	process, handle := spansNamed(rec, "process "+dest), spansNamed(rec, "handle")
	if len(process) != 3 || len(handle) != 1 {
		t.Fatalf("%d process and %d handle spans, want 3 and 1", len(process), len(handle))
	}
	wantAttrs(t, handle[0], map[attribute.Key]string{"messaging.batch.message_count": "3", "hookline.attempt": "1"})
	linked := map[string]bool{}
	for _, l := range handle[0].Links() {
		linked[l.SpanContext.SpanID().String()] = true
	}
	for _, p := range process {
		if !linked[p.SpanContext().SpanID().String()] {
			t.Errorf("the handle span does not link process span %s", p.SpanContext().SpanID())
		}
		ev := p.Events()
		if len(ev) != 1 || ev[0].Name != "handled in batch" {
			t.Fatalf("process span events %v, want one %q", ev, "handled in batch")
		}
		a := map[attribute.Key]string{}
		for _, kv := range ev[0].Attributes {
			a[kv.Key] = kv.Value.Emit()
		}
		if a["hookline.batch.span_id"] != handle[0].SpanContext().SpanID().String() || a["hookline.outcome"] != "stored" {
			t.Errorf("handled-in-batch attributes %v, want the handle span's id and outcome stored", a)
		}
	}
}

func TestNewBatchConsumerNeedsItsParts(t *testing.T) {
	_, r := memPair(t)
	if _, err := NewBatchConsumer(r, nil, nil); err == nil || !strings.Contains(err.Error(), "handler") {
		t.Errorf("NewBatchConsumer without a handler: %v", err)
	}
}
