package inprocpubsub

import (
	"context"
	"maps"
	"strconv"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub/driver"
)

// Delivery describes one delivery of a received message: a pubsub.Message's As fills one given
// a *Delivery.
type Delivery struct {
	ID           uint64 // the message's id, unique within its topic (also its LoggableID)
	Topic        string // the topic's name
	Subscription string // the subscription's name, "" for the default one
	Count        int    // how many times the subscription has delivered the message, this time included
}

// entry is one message held by one subscription. Its fields are guarded by the topic's mu.
type entry struct {
	id       uint64
	body     []byte
	metadata map[string]string

	deliveries int       // deliveries so far
	owner      *receiver // the receiver holding it unacknowledged, or nil while it waits
	deadline   time.Time // when owner's hold ends
	settled    bool      // acknowledged: skip it wherever it is still queued
}

// ackID identifies one delivery of one message.
type ackID struct {
	id       uint64
	delivery int
}

// fifo is a queue of T that reuses its slice.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) push(v T) { q.items = append(q.items, v) }
func (q *fifo[T]) len() int { return len(q.items) - q.head }
func (q *fifo[T]) front() T { return q.items[q.head] }

func (q *fifo[T]) pop() T {
	var zero T
	v := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head >= 64 && q.head*2 >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}

// subscription is one subscription of a topic, shared by the receivers opened on it. Its
// fields are guarded by the topic's mu.
type subscription struct {
	t          *topic
	name       string
	maxBacklog int
	opened     bool

	ready     fifo[*entry]      // waiting for a delivery, in order
	byID      map[uint64]*entry // every message held, waiting or delivered
	receivers []*receiver
	wakeCh    chan struct{} // closed when a message becomes ready; nil when nobody waits
}

func newSubscription(t *topic, name string, maxBacklog int) *subscription {
	if maxBacklog <= 0 {
		maxBacklog = DefaultMaxBacklog
	}
	return &subscription{t: t, name: name, maxBacklog: maxBacklog, byID: map[uint64]*entry{}}
}

// held is how many messages s holds, waiting or unacknowledged.
func (s *subscription) held() int { return len(s.byID) }

func (s *subscription) push(e *entry) {
	s.byID[e.id] = e
	s.ready.push(e)
}

// wake wakes every receive waiting on s.
func (s *subscription) wake() {
	if s.wakeCh != nil {
		close(s.wakeCh)
		s.wakeCh = nil
	}
}

func (s *subscription) waitChan() <-chan struct{} {
	if s.wakeCh == nil {
		s.wakeCh = make(chan struct{})
	}
	return s.wakeCh
}

func (s *subscription) addReceiver(r *receiver) {
	s.t.mu.Lock()
	s.receivers = append(s.receivers, r)
	s.t.mu.Unlock()
}

// release ends the hold of e's receiver, if any.
func release(e *entry) {
	if e.owner != nil {
		e.owner.holding--
		e.owner = nil
	}
}

// requeue makes e, held by a receiver, wait for a delivery again.
func (s *subscription) requeue(e *entry) {
	release(e)
	s.ready.push(e)
}

// expire requeues every delivery whose ack deadline has passed and returns the earliest
// deadline still ahead (zero if none).
func (s *subscription) expire(now time.Time) time.Time {
	var next time.Time
	requeued := false
	for _, r := range s.receivers {
		for r.order.len() > 0 {
			ref := r.order.front()
			if !ref.valid(r) {
				r.order.pop()
				continue
			}
			if ref.e.deadline.After(now) {
				if next.IsZero() || ref.e.deadline.Before(next) {
					next = ref.e.deadline
				}
				break
			}
			r.order.pop()
			s.requeue(ref.e)
			requeued = true
		}
	}
	if requeued {
		s.wake() // other receivers of s may be waiting
	}
	return next
}

// take delivers up to max waiting messages to r.
func (s *subscription) take(r *receiver, max int, now time.Time) []*driver.Message {
	var msgs []*driver.Message
	for len(msgs) < max && s.ready.len() > 0 {
		e := s.ready.pop()
		if e.settled || e.owner != nil {
			continue
		}
		e.deliveries++
		e.owner = r
		e.deadline = now.Add(r.ackDeadline)
		r.hold(held{e: e, delivery: e.deliveries})
		msgs = append(msgs, s.message(e))
	}
	return msgs
}

func (s *subscription) message(e *entry) *driver.Message {
	d := Delivery{ID: e.id, Topic: s.t.name, Subscription: s.name, Count: e.deliveries}
	var md map[string]string
	if e.metadata != nil {
		md = maps.Clone(e.metadata)
	}
	return &driver.Message{
		LoggableID: strconv.FormatUint(e.id, 10),
		Body:       e.body,
		Metadata:   md,
		AckID:      ackID{id: e.id, delivery: e.deliveries},
		AsFunc: func(i any) bool {
			if p, ok := i.(*Delivery); ok {
				*p = d
				return true
			}
			return false
		},
	}
}

// held is one delivery to a receiver, in the receiver's order of deliveries (and so of
// deadlines).
type held struct {
	e        *entry
	delivery int
}

// valid reports whether the delivery is still held by r, unsettled.
func (h held) valid(r *receiver) bool {
	return !h.e.settled && h.e.owner == r && h.e.deliveries == h.delivery
}

// receiver is the driver.Subscription of one pubsub.Subscription: one receiver on a
// subscription.
type receiver struct {
	sub         *subscription
	ackDeadline time.Duration

	// Guarded by the topic's mu.
	order   fifo[held] // deliveries in order, some no longer valid
	holding int        // how many of them are valid
	closed  bool
}

// hold records a delivery to r. Deliveries that ended leave order lazily, from its front; when
// one held long keeps many ended ones behind it, they are dropped here, so that order stays
// within twice what r holds (a slow handler does not keep every message since in memory).
func (r *receiver) hold(h held) {
	r.holding++
	r.order.push(h)
	if n := r.order.len(); n >= 256 && n > 2*r.holding {
		live := r.order.items[:0]
		for _, x := range r.order.items[r.order.head:] {
			if x.valid(r) {
				live = append(live, x)
			}
		}
		clear(r.order.items[len(live):])
		r.order.items, r.order.head = live, 0
	}
}

var _ driver.Subscription = (*receiver)(nil)

// ReceiveBatch returns up to max messages, waiting until there is at least one, ctx ends or
// the receiver is closed (then it returns none and no error: gocloud reports its own shutdown).
func (r *receiver) ReceiveBatch(ctx context.Context, max int) ([]*driver.Message, error) {
	t := r.sub.t
	for {
		t.mu.Lock()
		if r.closed {
			t.mu.Unlock()
			return nil, nil
		}
		now := time.Now()
		next := r.sub.expire(now)
		if msgs := r.sub.take(r, max, now); len(msgs) > 0 {
			t.mu.Unlock()
			return msgs, nil
		}
		wake := r.sub.waitChan()
		t.mu.Unlock()

		var timeout <-chan time.Time
		var timer *time.Timer
		if !next.IsZero() {
			timer = time.NewTimer(next.Sub(now))
			timeout = timer.C
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-timeout:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil, nil
		}
	}
}

// SendAcks removes the messages acknowledged; unknown and settled ids are ignored.
func (r *receiver) SendAcks(_ context.Context, ids []driver.AckID) error {
	s := r.sub
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	for _, id := range ids {
		a, ok := id.(ackID)
		if !ok {
			continue
		}
		if e := s.byID[a.id]; e != nil {
			e.settled = true
			release(e)
			e.body, e.metadata = nil, nil // it may stay queued a while, as a tombstone
			delete(s.byID, a.id)
		}
	}
	return nil
}

// CanNack reports true: a nacked message is delivered again at once.
func (*receiver) CanNack() bool { return true }

// SendNacks makes the nacked deliveries available again at once; unknown, settled and stale
// ids (a delivery that already ended) are ignored.
func (r *receiver) SendNacks(_ context.Context, ids []driver.AckID) error {
	s := r.sub
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	n := 0
	for _, id := range ids {
		a, ok := id.(ackID)
		if !ok {
			continue
		}
		if e := s.byID[a.id]; e != nil && e.owner != nil && e.deliveries == a.delivery {
			s.requeue(e)
			n++
		}
	}
	if n > 0 {
		s.wake()
	}
	return nil
}

func (*receiver) IsRetryable(error) bool { return false }

// As fills a *TopicInfo with the subscription's topic.
func (r *receiver) As(i any) bool {
	if p, ok := i.(*TopicInfo); ok {
		*p = TopicInfo{Name: r.sub.t.name}
		return true
	}
	return false
}

func (*receiver) ErrorAs(error, any) bool { return false }

func (*receiver) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// Close returns the messages r holds unacknowledged to its subscription at once and wakes a
// ReceiveBatch still waiting.
func (r *receiver) Close() error {
	s := r.sub
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for r.order.len() > 0 {
		if h := r.order.pop(); h.valid(r) {
			s.requeue(h.e)
		}
	}
	for i, x := range s.receivers {
		if x == r {
			s.receivers = append(s.receivers[:i], s.receivers[i+1:]...)
			break
		}
	}
	s.wake()
	return nil
}
