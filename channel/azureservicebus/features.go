package azureservicebus

import (
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
)

func init() {
	channel.RegisterBroker(channel.Broker{
		Name: "azuresb", Schemes: []string{azuresbScheme, QueueScheme},
		System: "servicebus", DeliveryCountAttribute: "messaging.servicebus.message.delivery_count",
		Detect: detect, Prepare: prepare,
		DeliveryCount: func(msg *pubsub.Message) (int, bool, bool) {
			n, ok := DeliveryCount(msg)
			return n, ok, ok
		},
	})
}

// detect reports whether t, opened without a URL, sends to Service Bus: gocloud's azuresb topic
// exposes an *azservicebus.Sender through As.
func detect(t *pubsub.Topic) bool {
	var s *azservicebus.Sender
	return t.As(&s)
}

const azuresbScheme = "azuresb"

// prepare sets MessageID (Deduplicate) and SessionID (OrderBySubject) on the Service Bus
// message through BeforeSend, keeping any BeforeSend already set (which runs afterwards and
// may override them).
func prepare(ev hookline.Event, opts channel.SenderOptions, m *pubsub.Message) error {
	id := ev.ID
	session := ev.Subject
	if session == "" {
		session = ev.ID
	}
	next := m.BeforeSend
	m.BeforeSend = func(as func(any) bool) error {
		var sm *azservicebus.Message
		if as(&sm) {
			if opts.Deduplicate {
				sm.MessageID = &id
			}
			if opts.OrderBySubject {
				sm.SessionID = &session
			}
		}
		if next != nil {
			return next(as)
		}
		return nil
	}
	return nil
}

// DeliveryCount returns how many times Service Bus has delivered msg, this delivery included,
// when msg was received through gocloud's azuresb driver (azuresb:// or azuresbqueue://). It is
// registered with [channel.RegisterBroker], so [channel.DeliveryCount] and the consumer's
// MaxDeliveries use it.
func DeliveryCount(msg *pubsub.Message) (int, bool) {
	var rm *azservicebus.ReceivedMessage
	if !msg.As(&rm) || rm == nil || rm.DeliveryCount == 0 {
		return 0, false
	}
	return int(rm.DeliveryCount), true
}
