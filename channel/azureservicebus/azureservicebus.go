// Package azureservicebus makes package channel work on Azure Service Bus queues, topics and
// subscriptions: it enables gocloud's azuresb:// driver, adds the azuresbqueue:// scheme that
// receives from (and sends to) a queue, and registers a [channel.Broker] that reads Service Bus
// delivery counts and maps [channel.SenderOptions] onto MessageID and SessionID. Import it for
// its side effects:
//
//	import _ "github.com/hookline/hookline/channel/azureservicebus"
//
// # URLs
//
// All forms take the namespace from SERVICEBUS_CONNECTION_STRING (a shared access connection
// string), or, when it is unset, from AZURE_SERVICEBUS_HOSTNAME with DefaultAzureCredential, as
// gocloud does.
//
//	azuresbqueue://stripe-events                     send to, or receive from, the queue stripe-events
//	azuresbqueue://stripe-events?subqueue=deadletter receive from its dead-letter queue
//	azuresb://stripe-events                          send to the queue or topic stripe-events (gocloud)
//	azuresb://stripe-events?subscription=sink        receive from subscription sink of topic stripe-events (gocloud)
//
// gocloud's own azuresb:// opener receives only from topic subscriptions; azuresbqueue:// is
// the form for queues, and one URL serves both ends, so an emitter and a consumer can share it.
// azuresbqueue:// accepts the query parameters listener_timeout (a Go duration: how long one
// receive call waits for messages, default 2s) and max_recv_batch_size (default 50) on
// receive, subqueue=deadletter on receive, and none on send; unknown parameters are errors.
//
// # Delivery semantics
//
// Receivers use peek-lock. Ack completes the message; Nack abandons it, which returns it at
// once with its delivery count + 1; a message neither acked nor nacked returns when its lock
// expires (the entity's lock duration, default 60s, at most 5 minutes), also counted. After
// the entity's MaxDeliveryCount deliveries Service Bus moves it to the dead-letter queue
// itself; set MaxDeliveryCount above the consumer's MaxDeliveries (default 10) so that the
// consumer dead-letters first, with its reason, to its own dead-letter channel.
// [channel.DeliveryCount] reports Service Bus's DeliveryCount exactly (1 on first delivery).
// gocloud acknowledges asynchronously: shut the receiver down to flush acks before exiting.
// The consumer's handler must finish within the lock duration, or the message is delivered
// again while it still runs (the sinks are idempotent, so this costs only work).
//
// [channel.SenderOptions]:
//   - Deduplicate sets MessageID to the event id. With duplicate detection enabled on the queue
//     or topic, Service Bus drops a second message with the same id within the window, so an
//     event that Stripe sends twice is stored once.
//   - OrderBySubject sets SessionID to the event's subject (the Stripe object id; the event id
//     when the subject is empty). A session-enabled entity requires it and delivers each
//     session in order. Receiving from a session-enabled entity needs a session receiver,
//     which gocloud's azuresb driver does not have: consume such an entity with the Azure
//     Functions Service Bus trigger (isSessionsEnabled) or the azservicebus SDK. Without
//     sessions on the entity, the session id is carried and ignored.
//
// # Provisioning
//
// With the Azure CLI (names are examples; duplicate detection and sessions can only be set
// when an entity is created; sessions need a queue or subscription of their own):
//
//	az servicebus namespace create -g rg -n hookline-ns --sku Standard
//	az servicebus queue create -g rg --namespace-name hookline-ns -n stripe-events \
//	    --lock-duration PT1M --max-delivery-count 10 \
//	    --enable-duplicate-detection true --duplicate-detection-history-time-window PT10M \
//	    --enable-dead-lettering-on-message-expiration true
//	az servicebus queue create -g rg --namespace-name hookline-ns -n stripe-events-ordered \
//	    --enable-session true --lock-duration PT1M --max-delivery-count 10
//	az servicebus queue create -g rg --namespace-name hookline-ns -n stripe-events-dead
//	az servicebus topic create -g rg --namespace-name hookline-ns -n stripe-topic \
//	    --enable-duplicate-detection true
//	az servicebus topic subscription create -g rg --namespace-name hookline-ns \
//	    --topic-name stripe-topic -n sink --lock-duration PT1M --max-delivery-count 10
//	az servicebus namespace authorization-rule keys list -g rg --namespace-name hookline-ns \
//	    -n RootManageSharedAccessKey --query primaryConnectionString -o tsv
//
// The consumer's dead-letter channel is an ordinary queue (stripe-events-dead above, as
// azuresbqueue://stripe-events-dead); Service Bus's own dead-letter queue of an entity
// (azuresbqueue://stripe-events?subqueue=deadletter) receives what the broker set aside after
// MaxDeliveryCount. Prefer a narrower rule than RootManageSharedAccessKey: Send for the
// emitter, Listen for the consumer.
//
// # Errors
//
// Errors come from gocloud's azuresb driver (gcerrors codes: NotFound for a missing entity,
// PermissionDenied for a bad key) wrapped by package channel; this package's own (URL and
// environment errors) start with "azureservicebus:". Connection strings never appear in errors:
// the key is redacted.
//
// # Security
//
// The connection string is a secret: keep it in the environment or a key vault, not in URLs
// (the URL forms above have no place for it). TLS is always used for real namespaces; only a
// connection string with UseDevelopmentEmulator=true (the Service Bus emulator, or this
// project's test double) connects without it. With AZURE_SERVICEBUS_HOSTNAME instead, the
// identity the runtime gives (a managed identity) signs in and there is no secret to keep:
// assign it the Azure Service Bus Data Sender role for the emitter and Data Receiver for the
// consumer.
//
// # Testing
//
// Nothing runs Service Bus offline, so the tests run the conformance suite (package
// channel/channeltest) on a queue and on a topic subscription against an AMQP 1.0 double of the
// broker (internal/testsupport/sbdouble, on the npm library rhea, which
// scripts/install-rhea.sh installs) that follows Microsoft's AMQP 1.0 guide for Service Bus: CBS
// token put, $management operations, peek-lock, complete, abandon, lock expiry, delivery counts,
// dead-lettering. TestLive runs against a real namespace when SERVICEBUS_CONNECTION_STRING and
// HOOKLINE_SB_QUEUE are set (and on a topic subscription when HOOKLINE_SB_TOPIC and
// HOOKLINE_SB_SUBSCRIPTION are set too); use entities dedicated to it.
package azureservicebus

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/azuresb"
)

// QueueScheme is the URL scheme under which this package registers its queue opener.
const QueueScheme = "azuresbqueue"

func init() {
	o := new(envOpener)
	pubsub.DefaultURLMux().RegisterTopic(QueueScheme, o)
	pubsub.DefaultURLMux().RegisterSubscription(QueueScheme, o)
}

// QueueURLOpener opens azuresbqueue:// URLs (see the package doc, # URLs).
type QueueURLOpener struct {
	// ConnectionString is a Service Bus connection string. Either it or ServiceBusHostname
	// is required.
	ConnectionString string
	// ServiceBusHostname is a namespace host name (ns.servicebus.windows.net); the client
	// authenticates with azidentity's DefaultAzureCredential.
	ServiceBusHostname string
	// ClientOptions, ReceiverOptions and SubscriptionOptions are passed on to the SDK and to
	// gocloud's azuresb driver; nil means defaults.
	ClientOptions       *azservicebus.ClientOptions
	ReceiverOptions     *azservicebus.ReceiverOptions
	SubscriptionOptions *azuresb.SubscriptionOptions
}

// envOpener builds a QueueURLOpener from the environment on every open, so that a process
// (or a test) may change SERVICEBUS_CONNECTION_STRING between opens.
type envOpener struct{}

func (envOpener) opener() (*QueueURLOpener, error) {
	cs, host := os.Getenv("SERVICEBUS_CONNECTION_STRING"), os.Getenv("AZURE_SERVICEBUS_HOSTNAME")
	if cs == "" && host == "" {
		return nil, errors.New("azureservicebus: neither SERVICEBUS_CONNECTION_STRING nor AZURE_SERVICEBUS_HOSTNAME is set")
	}
	return &QueueURLOpener{ConnectionString: cs, ServiceBusHostname: host}, nil
}

func (e envOpener) OpenTopicURL(ctx context.Context, u *url.URL) (*pubsub.Topic, error) {
	o, err := e.opener()
	if err != nil {
		return nil, err
	}
	return o.OpenTopicURL(ctx, u)
}

func (e envOpener) OpenSubscriptionURL(ctx context.Context, u *url.URL) (*pubsub.Subscription, error) {
	o, err := e.opener()
	if err != nil {
		return nil, err
	}
	return o.OpenSubscriptionURL(ctx, u)
}

func (o *QueueURLOpener) client() (*azservicebus.Client, error) {
	switch {
	case o.ConnectionString != "":
		c, err := azuresb.NewClientFromConnectionString(o.ConnectionString, o.ClientOptions)
		if err != nil {
			return nil, fmt.Errorf("azureservicebus: invalid connection string: %w", redactedError{err, o.ConnectionString})
		}
		return c, nil
	case o.ServiceBusHostname != "":
		return azuresb.NewClientFromServiceBusHostname(o.ServiceBusHostname, o.ClientOptions)
	}
	return nil, errors.New("azureservicebus: QueueURLOpener needs ConnectionString or ServiceBusHostname")
}

// queueName returns the queue named by u's host and path.
func queueName(u *url.URL) (string, error) {
	name := strings.Trim(path.Join(u.Host, u.Path), "/")
	if name == "" {
		return "", fmt.Errorf("azureservicebus: %s: no queue name", u.Redacted())
	}
	return name, nil
}

// OpenTopicURL opens a sender to the queue named by u.
func (o *QueueURLOpener) OpenTopicURL(ctx context.Context, u *url.URL) (*pubsub.Topic, error) {
	name, err := queueName(u)
	if err != nil {
		return nil, err
	}
	for p := range u.Query() {
		return nil, fmt.Errorf("azureservicebus: open sender %s: invalid query parameter %q", u.Redacted(), p)
	}
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	s, err := c.NewSender(name, nil)
	if err != nil {
		return nil, fmt.Errorf("azureservicebus: open sender for queue %q: %w", name, err)
	}
	return azuresb.OpenTopic(ctx, s, nil)
}

// OpenSubscriptionURL opens a peek-lock receiver on the queue named by u.
func (o *QueueURLOpener) OpenSubscriptionURL(ctx context.Context, u *url.URL) (*pubsub.Subscription, error) {
	name, err := queueName(u)
	if err != nil {
		return nil, err
	}
	subOpts, rcvOpts, err := o.receiveOptions(u)
	if err != nil {
		return nil, err
	}
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	r, err := c.NewReceiverForQueue(name, rcvOpts)
	if err != nil {
		return nil, fmt.Errorf("azureservicebus: open receiver for queue %q: %w", name, err)
	}
	return azuresb.OpenSubscription(ctx, c, r, subOpts)
}

// receiveOptions reads the query parameters of a receive URL.
func (o *QueueURLOpener) receiveOptions(u *url.URL) (*azuresb.SubscriptionOptions, *azservicebus.ReceiverOptions, error) {
	var subOpts azuresb.SubscriptionOptions
	if o.SubscriptionOptions != nil {
		subOpts = *o.SubscriptionOptions
	}
	var rcvOpts azservicebus.ReceiverOptions
	if o.ReceiverOptions != nil {
		rcvOpts = *o.ReceiverOptions
	}
	bad := func(p, v string, err error) error {
		return fmt.Errorf("azureservicebus: open receiver %s: invalid %s %q: %w", u.Redacted(), p, v, err)
	}
	for p, vs := range u.Query() {
		v := vs[0]
		switch p {
		case "listener_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, nil, bad(p, v, errors.Join(err, errors.New("want a positive duration")))
			}
			subOpts.ListenerTimeout = d
		case "max_recv_batch_size":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, nil, bad(p, v, errors.Join(err, errors.New("want a positive integer")))
			}
			subOpts.ReceiveBatcherOptions.MaxBatchSize = n
		case "subqueue":
			if v != "deadletter" {
				return nil, nil, bad(p, v, errors.New(`the only subqueue is "deadletter"`))
			}
			rcvOpts.SubQueue = azservicebus.SubQueueDeadLetter
		default:
			return nil, nil, fmt.Errorf("azureservicebus: open receiver %s: invalid query parameter %q", u.Redacted(), p)
		}
	}
	return &subOpts, &rcvOpts, nil
}

// redactedError hides a connection string's key in an SDK error's text.
type redactedError struct {
	err error
	cs  string
}

func (r redactedError) Error() string {
	msg := r.err.Error()
	for _, part := range strings.Split(r.cs, ";") {
		if k, v, ok := strings.Cut(part, "="); ok && v != "" &&
			(strings.EqualFold(k, "SharedAccessKey") || strings.EqualFold(k, "SharedAccessSignature")) {
			msg = strings.ReplaceAll(msg, v, "xxxxx")
		}
	}
	return msg
}

func (r redactedError) Unwrap() error { return r.err }
