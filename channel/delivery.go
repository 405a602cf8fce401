package channel

import (
	"sync"

	"gocloud.dev/pubsub"
)

// DeliveryCount returns how many times the broker has delivered msg, counting this delivery, when
// the driver reports it. mem:// does not; the consumer then counts deliveries itself.
func DeliveryCount(msg *pubsub.Message) (int, bool) {
	return 0, false
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
