package channel

// RabbitMQ support lives in package channel itself rather than behind a registry: it needs only
// the AMQP client's types (github.com/rabbitmq/amqp091-go, a small module with no dependencies of
// its own), and doing it here means nobody can forget to enable it. That matters for persistence:
// a registry that was not imported would silently fall back to transient messages, which a broker
// restart drops. Drivers with heavy client libraries plug in through [RegisterDeliveryCounter].

import (
	"gocloud.dev/pubsub"

	amqp "github.com/rabbitmq/amqp091-go"
)

// isRabbitTopic reports whether t is a gocloud rabbitpubsub topic: only that driver's As accepts
// an **amqp.Connection.
func isRabbitTopic(t *pubsub.Topic) bool {
	var conn *amqp.Connection
	return t.As(&conn)
}

// rabbitMessage returns a copy of m whose BeforeSend marks the AMQP publishing persistent (so a
// durable queue keeps it over a broker restart), sets its message id to the event id when it has
// none (so the id a consumer sees stays the same across redeliveries), and drops the
// x-delivery-count header, which belongs to the broker and arrives in the metadata of a received
// message that is being forwarded, for example to a dead-letter channel. m's own BeforeSend runs
// afterwards and may change any of this.
func rabbitMessage(m *pubsub.Message) *pubsub.Message {
	next := m.BeforeSend
	id := m.Metadata["ce_id"]
	return &pubsub.Message{
		Body: m.Body, Metadata: m.Metadata, AfterSend: m.AfterSend,
		BeforeSend: func(as func(any) bool) error {
			var p *amqp.Publishing
			if as(&p) {
				p.DeliveryMode = amqp.Persistent
				if p.MessageId == "" {
					p.MessageId = id
				}
				delete(p.Headers, rabbitDeliveryCountHeader)
			}
			if next != nil {
				return next(as)
			}
			return nil
		},
	}
}

// rabbitDeliveryCountHeader is the header in which quorum queues report how many times a message
// was returned to the queue before this delivery.
const rabbitDeliveryCountHeader = "x-delivery-count"

// rabbitDeliveries reads the delivery count of a message received through rabbitpubsub.
//
// Quorum queues set x-delivery-count on every redelivery, so the count is exact: header + 1.
// Without the header, a delivery that is not flagged Redelivered is the first one (exact: 1). A
// redelivery without the header (classic queues) is known only to be at least the second one:
// rabbitDeliveries returns (2, false) and the consumer adds the redeliveries it has seen itself.
// ok is false when msg did not come from RabbitMQ.
func rabbitDeliveries(msg *pubsub.Message) (n int, exact, ok bool) {
	var d amqp.Delivery
	if !msg.As(&d) {
		return 0, false, false
	}
	if v, found := d.Headers[rabbitDeliveryCountHeader]; found {
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
