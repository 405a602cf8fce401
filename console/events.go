package console

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/pipeline"
)

// Statuses of an event on the Events page and in the API: where it is now.
const (
	StatusAccepted     = "accepted" // on the channel, not yet settled
	StatusStored       = channel.OutcomeStored
	StatusIgnored      = channel.OutcomeIgnored
	StatusReturned     = channel.OutcomeReturned // given back to the broker, to come again
	StatusDeadLettered = channel.OutcomeDeadLettered
)

// maxDeliveries is how many deliveries of one event a record keeps (the newest).
const maxDeliveries = 10

// Event is one event the console saw: accepted by the webhook and each delivery's outcome.
type Event struct {
	Seq        uint64            `json:"seq"` // the order the console first saw events in
	ID         string            `json:"id"`
	Source     string            `json:"source"` // the source that verified it: "stripe", "standardwebhooks"
	Type       string            `json:"type"`
	Subject    string            `json:"subject"`          // the id of the object it is about
	Object     string            `json:"object,omitempty"` // that object's type, as the source named it
	Action     hookline.Action   `json:"action,omitempty"` // created, updated or deleted
	Created    time.Time         `json:"created"`          // when the source created it
	Accepted   time.Time         `json:"accepted,omitzero"`
	Updated    time.Time         `json:"updated"`
	Status     string            `json:"status"`
	Reason     string            `json:"reason,omitempty"` // why returned or dead-lettered
	TraceID    string            `json:"trace_id,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	Data       []byte            `json:"-"`         // at most Options.MaxData bytes of the data
	DataSize   int               `json:"data_size"` // the data's whole size
	Delivered  int               `json:"delivered"` // how many deliveries ended, counting those no longer kept
	Deliveries []Delivery        `json:"deliveries,omitempty"`
	// Routes are what each route of a configuration file did with the event in its latest
	// handler call; empty without a configuration file.
	Routes []pipeline.RouteOutcome `json:"routes,omitempty"`
}

// Delivery is how one delivery of an event ended.
type Delivery struct {
	N        int       `json:"n"` // the delivery count
	Outcome  string    `json:"outcome"`
	Kind     string    `json:"kind,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Attempts []Attempt `json:"attempts"`
	At       time.Time `json:"at"`
}

// Attempt is one sink write of a delivery.
type Attempt struct {
	Error  string  `json:"error,omitempty"`
	TookMS float64 `json:"took_ms"`
}

// DataTruncated reports whether Data holds only the start of the event's data.
func (e Event) DataTruncated() bool { return len(e.Data) < e.DataSize }

// store keeps the most recent events and finds them by id. It is split into shards by a hash
// of the event id, each with its own lock, map and ring, so that the webhook's and the
// consumer's goroutines telling it of events seldom wait for one another; Seq, from one atomic
// counter, orders events across shards.
type store struct {
	maxData int
	seq     atomic.Uint64
	seed    maphash.Seed
	shards  [storeShards]shard
}

// storeShards is how many shards a store has.
const storeShards = 16

// shard is one part of a store: a ring of its most recent events and their index by id.
type shard struct {
	mu   sync.Mutex
	ring []*Event // capacity fixed; ring[next] is overwritten next
	next int
	byID map[string]*Event
	_    [32]byte // keeps neighbouring shards' locks off one cache line
}

func newStore(n, maxData int) *store {
	s := &store{maxData: maxData, seed: maphash.MakeSeed()}
	per := max((n+storeShards-1)/storeShards, 1)
	for i := range s.shards {
		s.shards[i].ring = make([]*Event, per)
		s.shards[i].byID = make(map[string]*Event, per)
	}
	return s
}

func (s *store) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)%storeShards]
}

// get returns the record of id in sh, creating it (and evicting the shard's oldest) if needed;
// sh.mu held.
func (s *store) get(sh *shard, ev hookline.Event, now time.Time) *Event {
	if e := sh.byID[ev.ID]; e != nil {
		return e
	}
	if old := sh.ring[sh.next]; old != nil {
		delete(sh.byID, old.ID)
	}
	e := &Event{Seq: s.seq.Add(1), ID: ev.ID, Source: ev.Source, Type: ev.Type, Subject: ev.Subject, Object: ev.Object,
		Action: ev.Action, Created: ev.Time, Updated: now}
	sh.ring[sh.next] = e
	sh.byID[ev.ID] = e
	if sh.next++; sh.next == len(sh.ring) {
		sh.next = 0
	}
	return e
}

// accepted records that the channel accepted ev. Its data is not kept: the webhook reuses it.
func (s *store) accepted(ev hookline.Event, now time.Time) {
	if ev.ID == "" {
		return
	}
	sh := s.shard(ev.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, ev, now)
	if e.Accepted.IsZero() {
		e.Accepted = now
	}
	if e.Status == "" {
		e.Status = StatusAccepted
	}
	e.Updated = now
}

// settled records how a delivery ended, with a copy of (the start of) its data.
func (s *store) settled(st channel.Settled) {
	if st.Event.ID == "" {
		return
	}
	d := Delivery{N: st.Delivery, Outcome: st.Outcome, Kind: st.Kind, Reason: st.Reason, At: st.At,
		Attempts: make([]Attempt, len(st.Attempts))}
	for i, a := range st.Attempts {
		d.Attempts[i].TookMS = float64(a.Took.Microseconds()) / 1000
		if a.Err != nil {
			d.Attempts[i].Error = a.Err.Error()
		}
	}
	// The consumer reuses neither the data nor the metadata (channel.ConsumerOptions.OnSettled),
	// so they are kept as they are; only data past maxData is cut, into a copy of its own so that
	// the whole message is not kept alive with it.
	data, md := st.Event.Data, st.Event.Metadata
	if len(data) > s.maxData {
		data = append([]byte(nil), data[:s.maxData]...)
	}
	sh := s.shard(st.Event.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, st.Event, st.At)
	if e.Type == "" {
		e.Type, e.Subject = st.Event.Type, st.Event.Subject
	}
	if e.Source == "" {
		e.Source, e.Object, e.Action = st.Event.Source, st.Event.Object, st.Event.Action
	}
	if e.Created.IsZero() {
		e.Created = st.Event.Time
	}
	if len(data) > 0 {
		e.Data, e.DataSize = data, len(st.Event.Data)
	}
	if len(md) > 0 {
		e.Metadata = md
	}
	if st.TraceID != "" {
		e.TraceID = st.TraceID
	}
	e.Status, e.Reason, e.Updated = st.Outcome, st.Reason, st.At
	e.Delivered++
	if len(e.Deliveries) == maxDeliveries {
		e.Deliveries = append(e.Deliveries[:0:0], e.Deliveries[1:]...)
	}
	e.Deliveries = append(e.Deliveries, d)
}

// routed records what the routes did with ev in its latest handler call. The outcomes are the
// pipeline's own, not reused: they are kept as they are.
func (s *store) routed(ev hookline.Event, outcomes []pipeline.RouteOutcome, now time.Time) {
	if ev.ID == "" {
		return
	}
	sh := s.shard(ev.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.get(sh, ev, now).Routes = outcomes
}

// Filter selects events. Empty fields select all.
type Filter struct {
	Source  string // the source's name ("stripe")
	Type    string // exact, or a prefix ending in "*" ("customer.*")
	Subject string // the object's id
	ID      string // the event's id
	Status  string
	Before  uint64 // only events first seen before this Seq (the next page)
	Limit   int    // default 100, at most 1000
}

func (f Filter) match(e *Event) bool {
	if f.Before != 0 && e.Seq >= f.Before {
		return false
	}
	if f.ID != "" && e.ID != f.ID {
		return false
	}
	if f.Subject != "" && e.Subject != f.Subject {
		return false
	}
	if f.Source != "" && e.Source != f.Source {
		return false
	}
	if f.Status != "" && e.Status != f.Status {
		return false
	}
	if f.Type != "" {
		if p, ok := strings.CutSuffix(f.Type, "*"); ok {
			return strings.HasPrefix(e.Type, p)
		}
		return e.Type == f.Type
	}
	return true
}

// list returns copies of the events f selects, newest first, and whether more follow.
func (s *store) list(f Filter) ([]Event, bool) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	// Each shard's ring holds its events in the order they came, so walking it back from the
	// newest gives its newest matches first: a shard gives at most Limit+1 of them (one more than
	// the page, to tell whether more follow), and only those are copied.
	var out []Event
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		taken, n := 0, len(sh.ring)
		for k := 1; k <= n && taken <= f.Limit; k++ {
			e := sh.ring[(sh.next-k+n)%n]
			if e == nil {
				break
			}
			if f.match(e) {
				c := *e
				c.Data, c.Metadata, c.Deliveries = nil, nil, nil // the list shows none of them
				out = append(out, c)
				taken++
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Event) int { return cmp.Compare(b.Seq, a.Seq) })
	if len(out) > f.Limit {
		return out[:f.Limit], true
	}
	return out, false
}

// find returns a copy of the event id, with its data, metadata and deliveries.
func (s *store) find(id string) (Event, bool) {
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.byID[id]
	if e == nil {
		return Event{}, false
	}
	c := *e
	c.Deliveries = append([]Delivery(nil), e.Deliveries...)
	return c, true
}

// len returns how many events the store holds.
func (s *store) len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.byID)
		sh.mu.Unlock()
	}
	return n
}
