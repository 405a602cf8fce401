package channel

import (
	"fmt"
	"sync"
	"sync/atomic"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

// Broker is what package channel knows about one broker beyond its gocloud driver: how to
// recognise its topics, how to set up its messages, and how to read its delivery counts. The
// package that supports a broker (channel/amazonsqs, channel/rabbitmq, ...) registers one with
// [RegisterBroker] from its init function, so importing that package is all a program does.
//
// Every field but Name is optional; a nil func means the broker does not have that feature.
type Broker struct {
	// Name names the broker in errors, e.g. "awssnssqs". Required and unique.
	Name string

	// Detect reports whether t is a topic of this broker. urlScheme is the scheme of the URL t
	// was opened from, or "" for a topic given to [NewSender]; t is nil when [CheckTopicURL]
	// asks about a URL alone. Detect recognises a topic by its scheme or through t.As. A
	// [Sender] uses the first registered broker that claims its topic, for Prepare and OnSend.
	// Nil: the broker claims no topic (it may still count deliveries).
	Detect func(t *pubsub.Topic, urlScheme string) bool

	// Prepare sets m up for ev according to the broker-native features opts asks for
	// ([SenderOptions].Deduplicate, OrderBySubject), through m.Metadata or m.BeforeSend (keeping
	// any BeforeSend already set, which must run afterwards). It is called for every send of a
	// sender opened with either feature; it ignores a feature the broker does not have. An error
	// fails the send as permanent. Nil: the broker has neither feature, and a sender opened with
	// them sends as without them.
	Prepare func(ev hookline.Event, opts SenderOptions, m *pubsub.Message) error

	// OnSend adapts every message a sender of this broker sends, whatever its options, in the
	// same way as Prepare and after it (RabbitMQ through gocloud's driver: persistent delivery
	// mode, the event id as message id). m's "ce_id" metadata is the event id when it has one.
	// m is the sender's own message (a copy, for [Sender.SendMessage]). An error fails the send
	// as permanent.
	OnSend func(m *pubsub.Message) error

	// DeliveryCount reads how many times the broker has delivered msg, counting this delivery,
	// through msg.As. ok is false for a message it does not know (another driver's, or one its
	// broker reports no count for). exact is false when n is only a lower bound (at least 1), to
	// which the consumer adds the deliveries it counts itself (RabbitMQ classic queues flag a
	// redelivery without counting). [DeliveryCount] asks every registered broker in turn; the
	// first that knows the message answers.
	DeliveryCount func(msg *pubsub.Message) (n int, exact, ok bool)
}

// brokers holds the registered brokers, replaced as a whole on change so that readers need no
// lock (DeliveryCount runs for every received message).
var (
	brokers   atomic.Pointer[[]Broker]
	brokersMu sync.Mutex
)

// RegisterBroker adds b to the brokers package channel knows. Call it from an init function of
// the package that supports the broker. It panics when b has no Name, when its Name is taken, and
// when it has Prepare or OnSend but no Detect. It is safe for concurrent use.
func RegisterBroker(b Broker) {
	switch {
	case b.Name == "":
		panic("channel: RegisterBroker needs a Name")
	case b.Detect == nil && (b.Prepare != nil || b.OnSend != nil):
		panic(fmt.Sprintf("channel: RegisterBroker(%q): Prepare and OnSend need Detect", b.Name))
	}
	brokersMu.Lock()
	defer brokersMu.Unlock()
	var list []Broker
	if old := brokers.Load(); old != nil {
		list = append(list, *old...)
	}
	for _, r := range list {
		if r.Name == b.Name {
			panic(fmt.Sprintf("channel: RegisterBroker(%q): a broker of that name is registered", b.Name))
		}
	}
	list = append(list, b)
	brokers.Store(&list)
}

// unregisterBroker removes the broker called name (for tests).
func unregisterBroker(name string) {
	brokersMu.Lock()
	defer brokersMu.Unlock()
	var list []Broker
	if old := brokers.Load(); old != nil {
		for _, b := range *old {
			if b.Name != name {
				list = append(list, b)
			}
		}
	}
	brokers.Store(&list)
}

func registeredBrokers() []Broker {
	if list := brokers.Load(); list != nil {
		return *list
	}
	return nil
}

// brokerFor returns the first registered broker that claims t (opened from a URL of scheme), or
// nil.
func brokerFor(t *pubsub.Topic, scheme string) *Broker {
	for _, b := range registeredBrokers() {
		if b.Detect != nil && b.Detect(t, scheme) {
			return &b
		}
	}
	return nil
}

// requiredBrokers names, per URL scheme, the package whose [Broker] a sender must have: without
// it the topic opens but sends unsafely. rabbit:// through gocloud's driver alone publishes
// transient messages, which a broker restart drops even from a durable queue.
var requiredBrokers = map[string]string{
	"rabbit": "github.com/hookline/hookline/channel/rabbitmq",
}

// checkBroker fails when a topic of scheme needs a registered broker and has none.
func checkBroker(b *Broker, scheme string) error {
	if pkg, ok := requiredBrokers[scheme]; ok && b == nil {
		return fmt.Errorf("%s:// needs package %s, which makes its sends persistent: "+
			"import _ %q in your main package", scheme, pkg, pkg)
	}
	return nil
}

// deliveries returns msg's delivery count and whether it is exact; when it is not, n is a lower
// bound (at least 1) to which the consumer adds its own count.
func deliveries(msg *pubsub.Message) (n int, exact bool) {
	for _, b := range registeredBrokers() {
		if b.DeliveryCount == nil {
			continue
		}
		if n, exact, ok := b.DeliveryCount(msg); ok && n >= 1 {
			return n, exact
		}
	}
	return 1, false
}
