package channel

import (
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/channel/inprocpubsub"
)

// mem:// (gocloud's mempubsub) and inproc:// (package channel/inprocpubsub) are linked with
// package channel, which registers their brokers itself: both live in the process only, and the
// conventions name no messaging.system for them. inproc:// reports its exact delivery counts;
// mem:// reports none, and its topics have no As to recognise them by.
func init() {
	RegisterBroker(Broker{
		Name:      "mem",
		Schemes:   []string{"mem"},
		InProcess: true,
	})
	RegisterBroker(Broker{
		Name:          "inproc",
		Schemes:       []string{inprocpubsub.Scheme},
		InProcess:     true,
		Detect:        isInprocTopic,
		DeliveryCount: inprocDeliveries,
	})
}

// isInprocTopic recognises an inproc topic opened without a URL by its As, which only that
// driver's topics fill for an *inprocpubsub.TopicInfo.
func isInprocTopic(t *pubsub.Topic) bool {
	var info inprocpubsub.TopicInfo
	return t.As(&info)
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
