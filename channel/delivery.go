package channel

import (
	"sync"
	"sync/atomic"

	"gocloud.dev/pubsub"
)

// DeliveryCount returns how many times the broker has delivered msg, counting this delivery, when
// the driver reports it exactly; ok is false when it does not.
//
// Per driver:
//   - mem:// reports nothing; the consumer counts deliveries itself.
//   - rabbit:// with a quorum queue: exact, from the x-delivery-count header (header + 1; a first
//     delivery has no header and is 1).
//   - rabbit:// with a classic queue: 1 for a first delivery; a redelivery is only flagged as such,
//     so DeliveryCount reports nothing and the consumer counts, starting from 2, the
//     redeliveries it sees. Its count restarts with the process: prefer quorum queues.
//   - other drivers: what a function added with [RegisterDeliveryCounter] reports.
//
// msg must come from a subscription's Receive: gocloud's Message.As panics on other messages.
func DeliveryCount(msg *pubsub.Message) (n int, ok bool) {
	n, exact := deliveries(msg)
	if !exact {
		return 0, false
	}
	return n, true
}

// deliveries returns msg's delivery count and whether it is exact; when it is not, n is a lower
// bound (at least 1) to which the consumer adds its own count.
func deliveries(msg *pubsub.Message) (n int, exact bool) {
	if n, exact, ok := rabbitDeliveries(msg); ok {
		return n, exact
	}
	if fs := counters.Load(); fs != nil {
		for _, f := range *fs {
			if n, ok := f(msg); ok {
				return n, true
			}
		}
	}
	return 1, false
}

// counters holds the functions added with RegisterDeliveryCounter, replaced as a whole on change.
var (
	counters   atomic.Pointer[[]func(*pubsub.Message) (int, bool)]
	countersMu sync.Mutex
)

// RegisterDeliveryCounter makes [DeliveryCount], and so the consumer's MaxDeliveries, use f. f
// reads the count through msg.As and returns ok=false for messages of drivers it does not know;
// the first function that reports a count wins. Call it from an init function of the package
// that enables a driver. It is safe for concurrent use.
func RegisterDeliveryCounter(f func(msg *pubsub.Message) (n int, ok bool)) {
	countersMu.Lock()
	defer countersMu.Unlock()
	var fs []func(*pubsub.Message) (int, bool)
	if old := counters.Load(); old != nil {
		fs = append(fs, *old...)
	}
	fs = append(fs, f)
	counters.Store(&fs)
}

// deliveryCounter counts deliveries of messages whose driver does not report a count, keyed by
// the message's LoggableID. Entries are dropped when the message is settled for good; it is
// bounded so that an unbounded stream of never-settled ids cannot grow it without limit.
type deliveryCounter struct {
	mu sync.Mutex
	m  map[string]int
}

const maxTrackedDeliveries = 100_000

func newDeliveryCounter() deliveryCounter { return deliveryCounter{m: make(map[string]int)} }

func (d *deliveryCounter) next(key string) int {
	if key == "" {
		return 1
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= maxTrackedDeliveries {
		clear(d.m)
	}
	d.m[key]++
	return d.m[key]
}

func (d *deliveryCounter) forget(key string) {
	d.mu.Lock()
	delete(d.m, key)
	d.mu.Unlock()
}
