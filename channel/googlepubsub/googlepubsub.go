// Package googlepubsub makes package channel work fully on Google Cloud Pub/Sub. Import it for
// its side effects in your main package:
//
//	import _ "github.com/hookline/hookline/channel/googlepubsub"
//
// It enables gcppubsub:// URLs (it imports gocloud.dev/pubsub/gcppubsub) and registers a
// [channel.Broker] that reports Pub/Sub's delivery attempt as [channel.DeliveryCount] and sets
// the Pub/Sub ordering key when a sender is opened with [channel.SenderOptions].OrderBySubject.
// It lives apart from package channel because Google's client libraries are large; programs that
// do not use Pub/Sub do not link them.
//
// # URLs
//
// Topics, for [channel.OpenSender], and subscriptions, for [channel.OpenReceiver]:
//
//	gcppubsub://projects/my-project/topics/stripe-events
//	gcppubsub://projects/my-project/subscriptions/hookline
//	gcppubsub://my-project/stripe-events     short form of a topic
//	gcppubsub://my-project/hookline          short form of a subscription
//
// Query parameters (gocloud's; any other is an error): max_send_batch_size on topics;
// max_recv_batch_size and nacklazy=true (Nack does nothing and the message comes back after its
// ack deadline) on subscriptions.
//
// Credentials are Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the metadata
// server on Google Cloud, or gcloud auth application-default login). When PUBSUB_EMULATOR_HOST
// is set (host:port of the Pub/Sub emulator or another fake), URLs connect to it without TLS or
// credentials instead. gocloud reads the variable once, at the first gcppubsub:// open in the
// process: set it before that. To connect elsewhere, build the topic or subscription on a gRPC
// connection with gocloud's gcppubsub.OpenTopicByPath and OpenSubscriptionByPath and wrap it with
// [channel.NewSender] or [channel.NewReceiver]. Delivery counts work for those as well; the
// ordering key needs a sender opened with [channel.OpenSender].
//
// # Delivery semantics
//
// Pub/Sub delivers at least once. A message that is neither acknowledged nor nacked within the
// subscription's ack deadline (10s to 600s; gocloud does not extend it) is delivered again, so
// set the deadline above the consumer's Timeout times MaxAttempts plus the backoff between
// attempts. Nack sets the message's ack deadline to 0 and it is redelivered at once.
//
// Delivery counts: Pub/Sub reports a message's delivery attempt (1 on the first delivery) only
// on subscriptions with a dead-letter policy. There, [channel.DeliveryCount] returns it, exact
// across processes and restarts. Without a policy the attempt is 0, DeliveryCount reports
// nothing, and the consumer counts deliveries itself by message id, within one process. Pub/Sub
// documents the attempt as best effort and approximate.
//
// With a dead-letter policy, Pub/Sub itself moves a message to the dead-letter topic after
// MaxDeliveryAttempts (5 to 100). Set the consumer's MaxDeliveries below it, so that our
// consumer dead-letters first, with the reason in the message metadata; the policy remains a
// backstop. The consumer's DeadLetter sender may publish to the policy's dead-letter topic
// (messages Pub/Sub moved there carry its CloudPubSubDeadLetter* attributes instead of ours).
//
// Ordering: with OrderBySubject, each message's ordering key is the event's subject (the Stripe
// object id; events without one get none). A subscription with message ordering enabled then
// delivers the messages of one key in the order Pub/Sub received them, and the next one only
// after the previous one was acknowledged. Only messages published in the same region are
// ordered: publish through a regional endpoint, or from one region. Keys are at most 1024
// bytes; a longer subject fails the send as permanent.
//
// Deduplicate does nothing on Pub/Sub: it has no publish-side deduplication by id (exactly-once
// delivery is a subscription setting that concerns acknowledgements, not duplicate publishes).
// The sinks are idempotent either way.
//
// # Provisioning
//
// gocloud creates nothing. With the gcloud CLI, for project my-project:
//
//	gcloud pubsub topics create stripe-events
//	gcloud pubsub topics create stripe-events-deadletter
//	gcloud pubsub subscriptions create hookline --topic=stripe-events \
//	    --ack-deadline=60 --enable-message-ordering \
//	    --dead-letter-topic=stripe-events-deadletter --max-delivery-attempts=10
//	gcloud pubsub subscriptions create stripe-events-deadletter --topic=stripe-events-deadletter
//
// Pub/Sub moves messages to the dead-letter topic as its service agent,
// service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com, which needs to publish to the
// dead-letter topic and to acknowledge on the source subscription:
//
//	gcloud pubsub topics add-iam-policy-binding stripe-events-deadletter \
//	    --member=serviceAccount:service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com \
//	    --role=roles/pubsub.publisher
//	gcloud pubsub subscriptions add-iam-policy-binding hookline \
//	    --member=serviceAccount:service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com \
//	    --role=roles/pubsub.subscriber
//
// The webhook's identity needs roles/pubsub.publisher on stripe-events (and on the topic it
// dead-letters to, if the consumer runs under it), the consumer's roles/pubsub.subscriber on
// hookline. Message ordering can only be chosen when a subscription is created; the ack deadline
// and the dead-letter policy can be changed later with gcloud pubsub subscriptions update.
//
// # Errors
//
// Errors from Pub/Sub keep their gRPC status in the chain (gocloud's gcerrors.Code maps it):
// a missing topic or subscription is NotFound, missing permissions PermissionDenied. A receiver
// does not reopen after either: the consumer stops with the error. A subject too long for an
// ordering key fails the send before it reaches Pub/Sub, as permanent; errors of this package
// start with "googlepubsub:".
//
// # Security
//
// Credentials never appear in URLs: they are Application Default Credentials (# URLs). Prefer the
// identity the runtime gives (a service account attached to the function or VM, workload
// identity) over a key file, and grant it only the roles under # Provisioning. Never set
// PUBSUB_EMULATOR_HOST in production: it turns TLS and authentication off for every gcppubsub://
// URL of the process.
//
// # Testing
//
// The tests run the conformance suite (package channel/channeltest), with and without a
// dead-letter policy, and the ordering key against Google's in-process fake pstest
// (internal/testsupport/pubsubtest); no account is needed.
package googlepubsub

import (
	"errors"

	raw "cloud.google.com/go/pubsub/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/gcppubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
)

func init() {
	channel.RegisterBroker(channel.Broker{
		Name: gcppubsub.Scheme, Schemes: []string{gcppubsub.Scheme},
		System: "gcp_pubsub", DeliveryCountAttribute: "messaging.gcp_pubsub.message.delivery_attempt",
		Detect: detect, Prepare: prepare,
		DeliveryCount: func(msg *pubsub.Message) (int, bool, bool) {
			n, ok := deliveryAttempt(msg)
			return n, ok, ok
		},
	})
}

// detect reports whether t, opened without a URL, is a gocloud gcppubsub topic: only that
// driver's As accepts a **raw.PublisherClient.
func detect(t *pubsub.Topic) bool {
	var pc *raw.PublisherClient
	return t.As(&pc)
}

// maxOrderingKey is Pub/Sub's limit on the size of an ordering key, in bytes.
const maxOrderingKey = 1024

// prepare sets m's ordering key to ev's subject when opts asks for it, in a BeforeSend that runs
// before the one m already has.
func prepare(ev hookline.Event, opts channel.SenderOptions, m *pubsub.Message) error {
	if !opts.OrderBySubject || ev.Subject == "" {
		return nil
	}
	if len(ev.Subject) > maxOrderingKey {
		return errors.New("googlepubsub: subject longer than the 1024 bytes of a Pub/Sub ordering key")
	}
	key, next := ev.Subject, m.BeforeSend
	m.BeforeSend = func(as func(any) bool) error {
		var pm *pubsubpb.PubsubMessage
		if !as(&pm) {
			return errors.New("googlepubsub: OrderBySubject needs a gcppubsub topic")
		}
		pm.OrderingKey = key
		if next != nil {
			return next(as)
		}
		return nil
	}
	return nil
}

// deliveryAttempt reads the delivery attempt of a message received through gcppubsub. ok is
// false for other drivers' messages, and when Pub/Sub reports no attempt (0: the subscription has
// no dead-letter policy).
func deliveryAttempt(msg *pubsub.Message) (n int, ok bool) {
	var rm *pubsubpb.ReceivedMessage
	if !msg.As(&rm) || rm == nil || rm.GetDeliveryAttempt() <= 0 {
		return 0, false
	}
	return int(rm.GetDeliveryAttempt()), true
}
