// Package inprocpubsub is a gocloud.dev/pubsub driver for messages within one process, registered
// under the URL scheme "inproc". It is hookline's alternative to gocloud's mempubsub (mem://) for
// tests and single-process runs: a receive waits for a message instead of polling, and a message
// sent before its subscription is opened is kept for it instead of dropped. It does not import
// package channel; package channel imports it, so inproc:// works wherever channel is linked.
//
// # URLs
//
// One URL serves both ends: a topic and its default subscription are opened from the same URL,
// and every opener of the same name in one process meets the same topic, whichever end is
// opened first.
//
//	inproc://stripe-events                      topic stripe-events; its default subscription
//	inproc://stripe-events?subscription=audit   a further subscription named "audit" (as a
//	                                            subscription URL; as a topic URL, the same topic)
//	inproc://stripe-events?ackdeadline=10s      a subscription whose unacknowledged messages
//	                                            come back 10s after delivery
//	inproc://stripe-events?maxbacklog=1000      at most 1000 messages held per subscription
//
// The name is the URL's host and path ("inproc://a/b" names "a/b"); it must not be empty. Query
// parameters, accepted by both openers so that one URL serves both:
//
//   - subscription: the subscription's name (default: the default subscription, named ""). The
//     topic opener ignores it.
//   - ackdeadline: how long after delivery a message neither acknowledged nor nacked is
//     delivered again, a Go duration greater than zero (default [DefaultAckDeadline], 1m). Set
//     per receiver; the topic opener ignores it.
//   - maxbacklog: how many messages a subscription may hold, waiting or delivered but not yet
//     acknowledged, an integer greater than zero (default [DefaultMaxBacklog], 10,000). A
//     topic URL's applies to every subscription of the topic so far (the default one at
//     least); a subscription URL's to its subscription. The latest open that gives it wins.
//
// Any other parameter, an empty name, or a malformed value fails the open with an error naming
// the URL and the parameter. [OpenTopic] and [OpenSubscription] open the same things without a
// URL.
//
// # Delivery semantics
//
// Topics live as long as the process, like mempubsub's. A subscription comes into being the
// first time it is opened, and lives on after its receivers are shut down: what it holds waits
// for the next receiver opened on it (a restarted consumer in the same process). The default
// subscription is an exception: it exists as soon as its topic does, so messages sent to a topic
// before any receiver was opened are kept for it and delivered when it is opened, whatever the
// order of the opens. It stops collecting only when a named subscription is opened before it
// ever was (a fan-out topic consumed through named subscriptions only); what it holds by then
// stays for it. A named subscription gets the messages sent after its first open.
//
// Every subscription of a topic gets every message. Receivers opened on the same subscription
// share its messages (competing consumers). First deliveries come in the order of the sends; a
// message given back (nack, deadline, shutdown) joins the end of the queue.
//
// Each subscription holds at most maxbacklog messages, waiting or unacknowledged. A send that
// would take a subscription past that fails with gcerrors.ResourceExhausted and an error naming
// the topic and the subscription, and the message goes to no subscription (so a retried send
// does not duplicate it); nothing grows without bound, and a webhook answers 503 while the
// consumer is behind. gocloud passes acknowledgements on in batches, in the background, so a
// message acknowledged a moment ago may still count.
//
// A receive blocks until a message is available or its context ends: the driver's ReceiveBatch
// is woken by the send itself (and by a nack, a receiver's shutdown or an ack deadline that
// passes), never by a timer that polls. gocloud's contract asks a driver to return from
// ReceiveBatch within about a second; this one waits longer when there is nothing to deliver,
// which costs nothing, since it returns as soon as its context (canceled at Shutdown) ends.
//
// A message delivered but neither acknowledged nor nacked within the receiver's ackdeadline is
// delivered again. A nack makes it available again at once. Shutting a receiver down returns
// the messages it holds unacknowledged to its subscription at once. Acks and nacks of unknown,
// already settled or stale deliveries are ignored; a message acknowledged after its deadline
// passed, even while redelivered, is removed. Delivery counts are exact: the first delivery is
// 1, and each redelivery, for whatever reason, adds 1. A received message's As fills a
// [Delivery] with its id, topic, subscription and count; package channel reads the count
// through it (channel.DeliveryCount).
//
// Bodies are shared between the subscriptions of a topic and must not be modified by
// receivers; metadata is a copy per delivery.
//
// # Compared with mem://
//
// mempubsub sleeps 250 ms whenever a receive finds its subscription empty, which sets the
// latency of every in-memory round trip, and drops a message sent while its topic has no
// subscription (with a log line only), so a sender that answers a webhook 2xx for such a message
// has lost it. It also requires the topic to be opened before its subscription. inproc:// has
// none of these: no open order, no drop, a receive that returns as soon as a message is sent.
// mem:// stays gocloud's, unchanged.
//
// # Errors
//
// Errors start with "inprocpubsub:" and say what is wrong: a bad URL names the URL and the query
// parameter (gocloud's URL mux returns such errors as they are, without a gcerrors code). Errors
// of a send carry a gcerrors code: ResourceExhausted for a full subscription (see above); after
// Shutdown, gocloud's own FailedPrecondition. No error is retryable: the caller (the consumer
// loop, the webhook's 503) decides.
//
// # Security
//
// Messages never leave the process. Topic names are process-wide: any code in the process that
// opens a name reads its messages.
package inprocpubsub
