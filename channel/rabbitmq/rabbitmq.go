// Package rabbitmq is hookline's own RabbitMQ driver for gocloud.dev/pubsub, built directly on
// github.com/rabbitmq/amqp091-go. Import it for its side effect:
//
//	import _ "github.com/hookline/hookline/channel/rabbitmq"
//
// It registers the scheme rabbitmq:// on pubsub.DefaultURLMux, so channel.OpenSender,
// channel.OpenReceiver and the consumer use it like any other gocloud driver. gocloud's own
// rabbit:// (gocloud.dev/pubsub/rabbitpubsub) keeps working beside it.
//
// # When to prefer it over rabbit://
//
// Prefer rabbitmq:// whenever latency matters, which for a webhook is always. rabbitpubsub
// v0.48 has two limits that set hookline's RabbitMQ figures:
//
//   - Its receive waits up to 50 ms to fill a batch, and gocloud asks for batches that hold 2 s
//     of throughput, so at a moderate rate every batch waits the full 50 ms. This driver returns
//     as soon as one message is there, with whatever else has already arrived.
//   - Its publisher runs one batch at a time and waits for the broker's confirms, which for a
//     quorum queue come after an fsync. This driver keeps several batches in flight, each on an
//     AMQP channel of its own in confirm mode.
//
// Measured through the webhook into a local quorum queue (RabbitMQ 3.10, persistent messages,
// publisher confirms) on a 2-core VM shared with other builds, both drivers in the same session:
//
//	                                        rabbit://       rabbitmq://
//	at 500 events/s: webhook-to-sink p50    28–30 ms        1.5–1.9 ms
//	at 500 events/s: p99                    53–122 ms       8–13 ms
//	as fast as 64 connections go            4,360–4,865/s   4,470–4,553/s
//	  and the p50 meanwhile                 39–40 ms        13 ms
//
// The latency target (p50 under 10 ms at 500/s) is met; the throughput target (5,000/s) is not
// on that VM, for either driver, because the machine is the limit there: the broker and the
// benchmark process (load generator, webhook, consumer) each used about one core. Compare the
// two on your broker with go test -run '^$' -bench 'BrokerRabbitMQ' -benchtime 1x
// ./internal/localapp.
//
// # URLs
//
//	rabbitmq://exchange?maxhandlers=16&batch=64   a topic: publishes to the exchange
//	rabbitmq://queue?prefetch=256                 a subscription: consumes from the queue
//
// The server comes from the environment variable RABBIT_SERVER_URL
// (amqp://user:password@host:5672/vhost), as for rabbit://. Each opened topic and subscription
// has a connection of its own; when it dies (broker restart, network), the topic or subscription
// fails with errors and package channel reopens it from its URL. Query parameters:
//
//   - maxhandlers (topic): batches in flight at once, each on its own AMQP channel. Default 16.
//   - batch (topic): most messages in one batch. Default 64.
//   - prefetch (subscription): the consumer's prefetch (basic.qos): how many unacknowledged
//     messages the broker hands out ahead. Default 256.
//
// Any other parameter is an error. Nothing is declared: create the exchange, queue and binding
// first (package channel/rabbitsetup).
//
// # Delivery semantics
//
// Messages are published persistent (delivery mode 2), mandatory, and confirmed by the broker: a
// send succeeds only once the broker has confirmed the message, which for a durable queue means
// it is on disk. The message id is the "ce_id" metadata (the event id); other metadata travels as
// AMQP headers with string values, except the broker's own x-delivery-count, which is dropped
// so that a forwarded message (a dead letter) starts counting afresh. A message's BeforeSend
// gets an **amqp.Publishing and may change any of this.
//
// Received messages are acknowledged with basic.ack; Nack is basic.nack with requeue, so the
// broker delivers the message again and a quorum queue counts the delivery. Each received
// message's As accepts an *amqp.Delivery, so channel.DeliveryCount works as for rabbit://: exact
// for quorum queues (the x-delivery-count header), first deliveries only for classic queues.
// Unacknowledged messages return to the queue when the subscription closes.
//
// As on a subscription accepts a **amqp.Connection (its own connection). As on a topic accepts
// nothing: in particular not the **amqp.Connection by which package channel recognises
// rabbitpubsub topics, because this driver already does natively what channel adds for them.
//
// # Errors
//
// Errors start with "rabbitmq:" and name the exchange or queue. gcerrors.Code maps AMQP reply
// codes: NOT_FOUND (a missing exchange or queue) is NotFound, ACCESS_REFUSED and NOT_ALLOWED are
// PermissionDenied; NO_ROUTE (a send to an exchange without a bound queue: the message is
// returned, and the send fails), a closed connection or channel and CONNECTION_FORCED (the
// broker is stopping) are FailedPrecondition, which package channel answers by reopening.
// Nothing is retried inside the driver.
//
// # Security
//
// RABBIT_SERVER_URL carries a password; errors show the server URL redacted. Use amqps:// across
// untrusted networks.
package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/internal/amqpdial"
)

// Scheme is the URL scheme this package registers on pubsub.DefaultURLMux.
const Scheme = "rabbitmq"

// ServerURLEnv names the environment variable that holds the AMQP server URL.
const ServerURLEnv = "RABBIT_SERVER_URL"

func init() {
	o := urlOpener{}
	pubsub.DefaultURLMux().RegisterTopic(Scheme, o)
	pubsub.DefaultURLMux().RegisterSubscription(Scheme, o)
}

type urlOpener struct{}

// OpenTopicURL opens rabbitmq://exchange?maxhandlers=N&batch=N.
func (urlOpener) OpenTopicURL(ctx context.Context, u *url.URL) (*pubsub.Topic, error) {
	var opts TopicOptions
	for param, values := range u.Query() {
		var err error
		switch param {
		case "maxhandlers":
			opts.MaxHandlers, err = positive(param, values)
		case "batch":
			opts.MaxBatchSize, err = positive(param, values)
		default:
			err = fmt.Errorf("unknown query parameter %q (want maxhandlers or batch)", param)
		}
		if err != nil {
			return nil, fmt.Errorf("rabbitmq: open topic %s: %w", u.Redacted(), err)
		}
	}
	return OpenTopic(ctx, os.Getenv(ServerURLEnv), path.Join(u.Host, u.Path), &opts)
}

// OpenSubscriptionURL opens rabbitmq://queue?prefetch=N.
func (urlOpener) OpenSubscriptionURL(ctx context.Context, u *url.URL) (*pubsub.Subscription, error) {
	var opts SubscriptionOptions
	for param, values := range u.Query() {
		var err error
		switch param {
		case "prefetch":
			opts.Prefetch, err = positive(param, values)
		default:
			err = fmt.Errorf("unknown query parameter %q (want prefetch)", param)
		}
		if err != nil {
			return nil, fmt.Errorf("rabbitmq: open subscription %s: %w", u.Redacted(), err)
		}
	}
	return OpenSubscription(ctx, os.Getenv(ServerURLEnv), path.Join(u.Host, u.Path), &opts)
}

func positive(param string, values []string) (int, error) {
	if len(values) != 1 {
		return 0, fmt.Errorf("query parameter %q given %d times", param, len(values))
	}
	n, err := strconv.Atoi(values[0])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("query parameter %q: want a positive integer, got %q", param, values[0])
	}
	return n, nil
}

// dial opens an AMQP connection to serverURL, giving up when ctx ends.
func dial(ctx context.Context, serverURL string) (*amqp.Connection, error) {
	conn, err := amqpdial.Dial(ctx, serverURL)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("rabbitmq: %w", err)
	}
	return conn, err
}

func redact(serverURL string) string { return amqpdial.Redact(serverURL) }

// errorCodes maps AMQP reply codes to gocloud error codes.
var errorCodes = map[int]gcerrors.ErrorCode{
	amqp.ContentTooLarge:    gcerrors.ResourceExhausted,
	amqp.NoRoute:            gcerrors.FailedPrecondition,
	amqp.NoConsumers:        gcerrors.FailedPrecondition,
	amqp.ConnectionForced:   gcerrors.FailedPrecondition,
	amqp.InvalidPath:        gcerrors.NotFound,
	amqp.AccessRefused:      gcerrors.PermissionDenied,
	amqp.NotFound:           gcerrors.NotFound,
	amqp.ResourceLocked:     gcerrors.FailedPrecondition,
	amqp.PreconditionFailed: gcerrors.FailedPrecondition,
	amqp.FrameError:         gcerrors.Internal,
	amqp.SyntaxError:        gcerrors.Internal,
	amqp.CommandInvalid:     gcerrors.Internal,
	amqp.ChannelError:       gcerrors.FailedPrecondition, // amqp.ErrClosed: the channel or connection is gone
	amqp.UnexpectedFrame:    gcerrors.Internal,
	amqp.ResourceError:      gcerrors.ResourceExhausted,
	amqp.NotAllowed:         gcerrors.PermissionDenied,
	amqp.NotImplemented:     gcerrors.Unimplemented,
	amqp.InternalError:      gcerrors.Internal,
}

func errorCode(err error) gcerrors.ErrorCode {
	var aerr *amqp.Error
	if errors.As(err, &aerr) {
		if c, ok := errorCodes[aerr.Code]; ok {
			return c
		}
	}
	return gcerrors.Unknown
}

func errorAs(err error, i any) bool {
	var aerr *amqp.Error
	if p, ok := i.(**amqp.Error); ok && errors.As(err, &aerr) {
		*p = aerr
		return true
	}
	return false
}

// closeError returns why an AMQP channel closed, from its NotifyClose Go channel (buffered, so
// the error is there once the channel's other Go channels are closed); amqp.ErrClosed when it
// was closed without one.
func closeError(closed <-chan *amqp.Error) error {
	select {
	case aerr, ok := <-closed:
		if ok && aerr != nil {
			return aerr
		}
	default:
	}
	return amqp.ErrClosed
}
