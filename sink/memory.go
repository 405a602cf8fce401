package sink

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/hookline/hookline"
)

// Record is what a [Memory] sink keeps about one subject: the event that last changed it and
// whether that event deleted the subject.
type Record struct {
	// Event is a copy of the event whose [Version] is the greatest seen for its subject.
	Event hookline.Event
	// Deleted is true when Event deleted its subject (its Action is hookline.Deleted).
	Deleted bool
}

// Memory is a Sink that keeps one [Record] per subject in memory, applying the [Version] rule
// exactly as the database sinks do: an event is written only if it supersedes the stored one, so
// duplicates and older events change nothing. It is an [Applier]: [Memory.Apply] says which of
// the two happened.
//
// It is meant for tests of whole flows (webhook, channel, consumer loop, sink) and for local
// runs: write events through the pipeline, then [Memory.Wait] for them and inspect the result with
// [Memory.Get]. It is safe for concurrent use; the zero value is not usable, call [NewMemory].
//
// Records stay readable after Close; writes after Close fail.
type Memory struct {
	mu      sync.Mutex
	records map[string]Record
	applied int
	writes  int
	closed  bool
	changed chan struct{} // closed and replaced whenever a counter changes
}

var _ BatchApplier = (*Memory)(nil)

var errMemoryClosed = errors.New("sink: write to a closed Memory sink")

// NewMemory returns an empty Memory sink.
func NewMemory() *Memory {
	return &Memory{records: make(map[string]Record), changed: make(chan struct{})}
}

// Write stores a copy of ev under ev.Subject if [VersionOf](ev) supersedes the version of the
// stored record (or there is none): it is [Memory.Apply] without the [Result].
func (m *Memory) Write(ctx context.Context, ev hookline.Event) error {
	_, err := m.Apply(ctx, ev)
	return err
}

// Apply stores a copy of ev under ev.Subject and returns [Stored] if [VersionOf](ev) supersedes
// the version of the stored record (or there is none); otherwise it changes nothing and returns
// [Ignored]. An event without a subject is a [hookline.Permanent] error; when ctx is done before
// the write, Apply returns ctx.Err() and changes nothing.
func (m *Memory) Apply(ctx context.Context, ev hookline.Event) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	defer m.notify()
	return m.applyLocked(ctx, ev)
}

// applyLocked is Apply's write. The caller holds m.mu.
func (m *Memory) applyLocked(ctx context.Context, ev hookline.Event) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Ignored, err
	}
	if ev.Subject == "" {
		return Ignored, hookline.Errorf(hookline.Permanent, "sink: event %s has no subject", ev.ID)
	}
	if m.closed {
		return Ignored, errMemoryClosed
	}
	old, ok := m.records[ev.Subject]
	if ok && !VersionOf(ev).Supersedes(VersionOf(old.Event)) {
		return Ignored, nil
	}
	m.records[ev.Subject] = Record{Event: ev.Clone(), Deleted: ev.Action == hookline.Deleted}
	m.applied++
	return Stored, nil
}

// ApplyBatch applies items under one lock, as [BatchApplier] says: the newest item of each
// subject as Apply would, the older ones Ignored. Each item counts as one write (Writes).
func (m *Memory) ApplyBatch(ctx context.Context, items []Item) []Outcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes += len(items)
	defer m.notify()
	out := make([]Outcome, len(items))
	newest := Newest(items, func(it Item) string { return it.Event.Subject })
	for i, it := range items {
		if newest[i] == i {
			out[i].Result, out[i].Err = m.applyLocked(ctx, it.Event)
		}
	}
	Spread(out, newest)
	return out
}

// notify wakes every Wait. The caller holds m.mu.
func (m *Memory) notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Close marks the sink closed: later writes fail, records stay readable. It always returns nil.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Get returns a copy of the record for subject, and whether there is one.
func (m *Memory) Get(subject string) (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[subject]
	if ok {
		r.Event = r.Event.Clone()
	}
	return r, ok
}

// Records returns copies of all records, sorted by subject.
func (m *Memory) Records() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Record, 0, len(m.records))
	for _, r := range m.records {
		r.Event = r.Event.Clone()
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Event.Subject < out[j].Event.Subject })
	return out
}

// Len returns the number of records (subjects), deleted ones included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// Applied returns how many writes changed a record (those Apply reports as [Stored]): the first
// event of each subject and every later one that superseded it.
func (m *Memory) Applied() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied
}

// Writes returns how many events Write, Apply and ApplyBatch were given, including those that
// changed nothing (a duplicate or an older event) and those that failed.
func (m *Memory) Writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// Wait blocks until at least n writes have changed a record (Applied() >= n), or ctx is done, in
// which case it returns ctx.Err(). In a flow test it is how to wait for the pipeline to deliver.
func (m *Memory) Wait(ctx context.Context, n int) error {
	return m.waitUntil(ctx, func() bool { return m.applied >= n })
}

// WaitWrites blocks until Write, Apply and ApplyBatch have been given at least n events
// (Writes() >= n), whether or not they changed anything, or ctx is done, in which case it returns
// ctx.Err().
// Use it to wait for duplicates and older events, which Wait cannot see.
func (m *Memory) WaitWrites(ctx context.Context, n int) error {
	return m.waitUntil(ctx, func() bool { return m.writes >= n })
}

func (m *Memory) waitUntil(ctx context.Context, done func() bool) error {
	for {
		m.mu.Lock()
		ok, changed := done(), m.changed
		m.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
