package rabbitmq

import (
	"slices"
	"sync"
)

// unsettled tracks the delivery tags a subscription has handed out and not yet acknowledged or
// nacked, in ascending order, so that acknowledgements can be coalesced: when the oldest
// unsettled messages are all being acknowledged, one basic.ack with multiple=true covers them.
// Acknowledgements behind an older message still in work (or still buffered) go out one by one,
// at once, so that a slow message never holds back the broker's prefetch window.
//
// Tags are added as they arrive from the broker, before the message is handed out, so a
// multiple ack can never cover a message nobody has seen. The caller serialises ack and remove
// with the frames it sends (a nack must be on the wire before its tag leaves the set, or a
// later multiple ack would cover it).
type unsettled struct {
	mu   sync.Mutex
	tags []uint64 // ascending
}

// add records a delivered tag; tags arrive in ascending order.
func (u *unsettled) add(tag uint64) {
	u.mu.Lock()
	u.tags = append(u.tags, tag)
	u.mu.Unlock()
}

// ack removes acked from the unsettled tags and splits them: upTo is the highest tag such that
// every unsettled tag up to it is in acked (0 when the oldest unsettled tag is not), and single
// holds the other acked tags, to acknowledge one by one.
func (u *unsettled) ack(acked []uint64) (upTo uint64, single []uint64) {
	set := make(map[uint64]bool, len(acked))
	for _, t := range acked {
		set[t] = true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	front := 0
	for front < len(u.tags) && set[u.tags[front]] {
		upTo = u.tags[front]
		delete(set, u.tags[front])
		front++
	}
	u.tags = slices.DeleteFunc(u.tags[front:], func(t uint64) bool { return set[t] })
	for t := range set {
		single = append(single, t)
	}
	slices.Sort(single)
	return upTo, single
}

// remove forgets tags settled otherwise (nacked).
func (u *unsettled) remove(tags []uint64) {
	set := make(map[uint64]bool, len(tags))
	for _, t := range tags {
		set[t] = true
	}
	u.mu.Lock()
	u.tags = slices.DeleteFunc(u.tags, func(t uint64) bool { return set[t] })
	u.mu.Unlock()
}
