package channel

import (
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/channel/inprocpubsub"
)

// inproc:// (package channel/inprocpubsub) is linked with package channel, like mem://; its
// Broker reports its exact delivery counts.
func init() {
	RegisterBroker(Broker{
		Name:          "inproc",
		Detect:        isInprocTopic,
		DeliveryCount: inprocDeliveries,
	})
}

// isInprocTopic recognises an inproc:// topic by its scheme, or by its As, which only that
// driver's topics fill for an *inprocpubsub.TopicInfo.
func isInprocTopic(t *pubsub.Topic, scheme string) bool {
	if scheme == inprocpubsub.Scheme {
		return true
	}
	var info inprocpubsub.TopicInfo
	return t != nil && t.As(&info)
}

// inprocDeliveries reads the exact delivery count of a message received from inproc://. A
// message without a LoggableID did not come from Receive (gocloud sets one on every message it
// returns) and has no As to ask: gocloud's panics on such a message.
func inprocDeliveries(msg *pubsub.Message) (n int, exact, ok bool) {
	var d inprocpubsub.Delivery
	if msg.LoggableID == "" || !msg.As(&d) {
		return 0, false, false
	}
	return d.Count, true, true
}
