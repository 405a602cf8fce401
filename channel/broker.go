package channel

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

// Broker is what package channel knows about one broker beyond its gocloud driver: which URL
// schemes are its, what the OpenTelemetry conventions call it, what limits its messages have,
// whether it lives in this process only, how to set up its messages, and how to read its delivery
// counts. The package that supports a broker (channel/amazonsqs, channel/rabbitmq, ...) registers
// one with [RegisterBroker] from its init function, so importing that package is all a program
// does; package channel registers those of mem:// and inproc:// itself.
//
// Every field but Name is optional: a zero field means the broker does not have that property
// (no limit, no name in the conventions, not in process), a nil func that it does not have that
// feature.
type Broker struct {
	// Name names the broker in errors, and in the spans of a topic given to [NewSender], e.g.
	// "awssqs". Required and unique.
	Name string

	// Schemes are the URL schemes, in lower case, of the broker's topics and subscriptions, e.g.
	// "azuresb" and "azuresbqueue": a topic opened from a URL of one of them is the broker's, and
	// the fields below describe the endpoints opened from such URLs ([Consumer], [Processor]
	// with a Subscription). No two registered brokers share a scheme. Nil: only Detect claims
	// topics for the broker.
	Schemes []string

	// System is the broker's messaging.system in the OpenTelemetry messaging semantic
	// conventions, e.g. "aws_sqs", which the spans and metrics of its endpoints carry. "": the
	// conventions name none (mem://, inproc://), and they carry no messaging.system.
	System string

	// DeliveryCountAttribute is the span attribute the conventions name for the broker's delivery
	// count, e.g. "messaging.servicebus.message.delivery_count". "": the count is
	// hookline.message.delivery_count.
	DeliveryCountAttribute string

	// MaxMetadata is the most metadata entries (message attributes, headers) one message of the
	// broker can carry, e.g. 10 on SQS and SNS. On a broker with a limit, tracestate travels in
	// the CloudEvents body only and not also in the metadata, so that a dead-lettered message,
	// which carries hookline's dead-letter entries too, stays within it. 0: no limit that
	// hookline's few entries could reach.
	MaxMetadata int

	// InProcess says that the broker's topics and subscriptions live in this process only
	// (mem://, inproc://): what is sent there never leaves it and is lost when it ends.
	// [IsInProcess] reports it for a URL.
	InProcess bool

	// Detect reports whether t, a topic that no broker claims by its scheme (one given to
	// [NewSender], or opened from a URL of a scheme no registered broker lists), is a topic of
	// this broker. It recognises the topic through t.As. A [Sender] uses the broker that claims
	// its topic, by scheme or else through the first Detect that does, for Prepare and OnSend.
	// Nil: the broker claims topics by their scheme only.
	Detect func(t *pubsub.Topic) bool

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
// the package that supports the broker. It panics when b has no Name, when its Name is taken,
// when a scheme of b is not in lower case or is another broker's, and when it has Prepare or
// OnSend but neither Schemes nor Detect. It is safe for concurrent use.
func RegisterBroker(b Broker) {
	brokersMu.Lock()
	defer brokersMu.Unlock()
	list := slices.Clone(registeredBrokers())
	if err := checkNewBroker(list, b); err != nil {
		panic("channel: RegisterBroker: " + err.Error())
	}
	b.Schemes = slices.Clone(b.Schemes)
	list = append(list, b)
	brokers.Store(&list)
}

// checkNewBroker says what keeps b from joining list.
func checkNewBroker(list []Broker, b Broker) error {
	switch {
	case b.Name == "":
		return errors.New("a Broker needs a Name")
	case b.Schemes == nil && b.Detect == nil && (b.Prepare != nil || b.OnSend != nil):
		return fmt.Errorf("%q: Prepare and OnSend need Schemes or Detect", b.Name)
	}
	for _, s := range b.Schemes {
		if s == "" || s != strings.ToLower(s) {
			return fmt.Errorf("%q: scheme %q is not a lower-case scheme", b.Name, s)
		}
	}
	for _, r := range list {
		if r.Name == b.Name {
			return fmt.Errorf("%q: a broker of that name is registered", b.Name)
		}
		for _, s := range b.Schemes {
			if slices.Contains(r.Schemes, s) {
				return fmt.Errorf("%q: scheme %q is broker %q's", b.Name, s, r.Name)
			}
		}
	}
	return nil
}

// unregisterBroker removes the broker called name (for tests).
func unregisterBroker(name string) {
	brokersMu.Lock()
	defer brokersMu.Unlock()
	list := slices.DeleteFunc(slices.Clone(registeredBrokers()), func(b Broker) bool { return b.Name == name })
	brokers.Store(&list)
}

func registeredBrokers() []Broker {
	if list := brokers.Load(); list != nil {
		return *list
	}
	return nil
}

// Brokers returns the registered brokers, in the order they were registered: those of mem:// and
// inproc://, then those of the broker packages linked into the program.
func Brokers() []Broker {
	list := slices.Clone(registeredBrokers())
	for i := range list {
		list[i].Schemes = slices.Clone(list[i].Schemes)
	}
	return list
}

// brokerOf returns the registered broker whose Schemes hold scheme (in lower case), or nil.
func brokerOf(scheme string) *Broker {
	if scheme == "" {
		return nil
	}
	for _, b := range registeredBrokers() {
		if slices.Contains(b.Schemes, scheme) {
			return &b
		}
	}
	return nil
}

// brokerFor returns the registered broker that claims t, opened from a URL of scheme ("" when
// not opened from a URL): the one whose Schemes hold scheme, else the first whose Detect claims
// t. t is nil when only a URL is checked. It returns nil when none does.
func brokerFor(t *pubsub.Topic, scheme string) *Broker {
	if b := brokerOf(scheme); b != nil || t == nil {
		return b
	}
	for _, b := range registeredBrokers() {
		if b.Detect != nil && b.Detect(t) {
			return &b
		}
	}
	return nil
}

// IsInProcess reports whether urlstr names a topic or subscription that lives in this process
// only: its scheme is that of a registered [Broker] with InProcess set (mem://, inproc://).
func IsInProcess(urlstr string) bool {
	b := brokerOf(schemeOf(urlstr))
	return b != nil && b.InProcess
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
