package rabbitmq

import (
	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/rabbitpubsub" // rabbit://

	"github.com/hookline/hookline/channel"
)

// system is RabbitMQ's messaging.system in the OpenTelemetry conventions.
const system = "rabbitmq"

func init() {
	// gocloud's driver: every message needs persistence, its id and a clean header set.
	channel.RegisterBroker(channel.Broker{
		Name:          "rabbitpubsub",
		Schemes:       []string{rabbitpubsub.Scheme},
		System:        system,
		Detect:        isRabbitPubSubTopic,
		OnSend:        persistent,
		DeliveryCount: deliveries,
	})
	// This package's driver does all that itself; it is registered so that channel knows the
	// broker (SenderOptions' features, which RabbitMQ does not have, are then ignored).
	channel.RegisterBroker(channel.Broker{
		Name:    Scheme,
		Schemes: []string{Scheme},
		System:  system,
	})
}

// isRabbitPubSubTopic reports whether t, opened without a URL, is a gocloud rabbitpubsub topic:
// only that driver's As accepts an **amqp.Connection (this package's topics do not).
func isRabbitPubSubTopic(t *pubsub.Topic) bool {
	var conn *amqp.Connection
	return t.As(&conn)
}

// persistent sets up m's BeforeSend to mark the AMQP publishing persistent (so a durable queue
// keeps it over a broker restart), to set its message id to the event id ("ce_id") when it has
// none (so the id a consumer sees stays the same across redeliveries), and to drop the
// x-delivery-count header, which belongs to the broker and arrives in the metadata of a
// received message that is being forwarded, for example to a dead-letter channel. m's own
// BeforeSend runs afterwards and may change any of this.
func persistent(m *pubsub.Message) error {
	next := m.BeforeSend
	id := m.Metadata["ce_id"]
	m.BeforeSend = func(as func(any) bool) error {
		var p *amqp.Publishing
		if as(&p) {
			p.DeliveryMode = amqp.Persistent
			if p.MessageId == "" {
				p.MessageId = id
			}
			delete(p.Headers, deliveryCountHeader)
		}
		if next != nil {
			return next(as)
		}
		return nil
	}
	return nil
}

// deliveries reads the delivery count of a message received through either driver: both give
// an amqp.Delivery through As.
//
// Quorum queues set x-delivery-count on every redelivery, so the count is exact: header + 1.
// Without the header, a delivery that is not flagged Redelivered is the first one (exact: 1). A
// redelivery without the header (classic queues) is known only to be at least the second one:
// deliveries returns (2, false) and the consumer adds the redeliveries it has seen itself. ok is
// false when msg did not come from RabbitMQ.
func deliveries(msg *pubsub.Message) (n int, exact, ok bool) {
	var d amqp.Delivery
	if !msg.As(&d) {
		return 0, false, false
	}
	if v, found := d.Headers[deliveryCountHeader]; found {
		if c, isInt := toInt(v); isInt && c >= 0 {
			return c + 1, true, true
		}
	}
	if !d.Redelivered {
		return 1, true, true
	}
	return 2, false, true
}

func toInt(v any) (int, bool) {
	switch v := v.(type) {
	case int64:
		return int(v), true
	case int32:
		return int(v), true
	case int16:
		return int(v), true
	case int8:
		return int(v), true
	case int:
		return v, true
	case uint8:
		return int(v), true
	case uint16:
		return int(v), true
	case uint32:
		return int(v), true
	}
	return 0, false
}
