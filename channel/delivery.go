package channel

import (
	"sync"

	"gocloud.dev/pubsub"
)

// DeliveryCount returns how many times the broker has delivered msg, counting this delivery, when
// the driver reports it exactly; ok is false when it does not. The count comes from the
// registered [Broker] whose DeliveryCount knows msg: import the package of your broker (see the
// package doc, # URLs), whose doc says what its count means. mem:// reports nothing. Where no
// exact count is known, the consumer counts the deliveries it sees itself.
//
// msg must come from a subscription's Receive: gocloud's Message.As panics on other messages.
func DeliveryCount(msg *pubsub.Message) (n int, ok bool) {
	n, exact := deliveries(msg)
	if !exact {
		return 0, false
	}
	return n, true
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
