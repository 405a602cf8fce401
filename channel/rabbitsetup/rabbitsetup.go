// Package rabbitsetup declares the RabbitMQ exchange, queue and binding that a hookline channel
// needs, and deletes them again.
//
// Neither RabbitMQ driver declares anything (see package channel/rabbitmq): a sender publishes to
// an existing exchange, a receiver consumes from an existing queue, and a send to an exchange
// with no bound queue fails with NO_ROUTE. [Declare] creates the usual shape once, idempotently: a
// durable fanout exchange, a durable queue and a binding between them.
//
//	err := rabbitsetup.Declare(ctx, os.Getenv("RABBIT_SERVER_URL"), "stripe-events", "stripe-events",
//		&rabbitsetup.Options{QueueType: rabbitsetup.Quorum})
//
// Declare a second pair the same way for the consumer's dead-letter channel (say
// "stripe-dead-letter").
//
// # URLs
//
// The functions take the AMQP server URL, amqp://user:password@host:5672/vhost (amqps:// for
// TLS), usually the RABBIT_SERVER_URL that the drivers read. After Declare(ctx, server,
// "stripe-events", "stripe-events", ...), send to rabbitmq://stripe-events (the exchange) and
// receive from rabbitmq://stripe-events (the queue), or the same with rabbit://: exchanges and
// queues have separate namespaces, so one name serves both.
//
// # Without Go
//
// The same objects with the management CLI (rabbitmqadmin, from the management plugin):
//
//	rabbitmqadmin declare exchange name=stripe-events type=fanout durable=true
//	rabbitmqadmin declare queue name=stripe-events durable=true arguments='{"x-queue-type":"quorum"}'
//	rabbitmqadmin declare binding source=stripe-events destination=stripe-events destination_type=queue
//
// rabbitmqctl cannot declare exchanges or bindings itself; it can apply queue arguments to existing
// and future queues by policy, for example a broker-side delivery limit on quorum queues:
//
//	rabbitmqctl set_policy stripe-limit '^stripe-events$' '{"delivery-limit":20}' --apply-to queues
//
// and list what exists with rabbitmqctl list_exchanges, list_queues name type messages and
// list_bindings.
//
// # Delivery semantics
//
// Prefer quorum queues: they survive a node failure and report each message's delivery count
// (the x-delivery-count header), which hookline's consumer uses to dead-letter a message after
// ConsumerOptions.MaxDeliveries. Classic queues only say whether a message was delivered before,
// so the consumer has to count redeliveries itself, a count that restarts with the process (see
// channel.DeliveryCount). Durable queues keep only persistent messages over a broker restart;
// hookline publishes persistent messages through both drivers (package channel/rabbitmq). The
// broker's own limits ([Options].DeliveryLimit, DeadLetterExchange, or the delivery-limit policy
// above) are a safety net behind the consumer's: set them above MaxDeliveries.
//
// # Errors
//
// Errors start with "rabbitsetup:" and name the exchange or queue; the AMQP error (an
// *amqp.Error with RabbitMQ's reply code, for example PRECONDITION_FAILED when a queue exists
// with other arguments, or ACCESS_REFUSED) stays in the chain. Declaring what already exists
// with the same arguments succeeds.
//
// # Security
//
// The server URL (amqp://user:password@host:5672/vhost) carries a password: errors from this
// package show it redacted. Declaring needs RabbitMQ's configure permission on the exchange and
// queue, which the user that runs hookline itself does not need: run setup as a separate,
// more privileged user if you split them.
package rabbitsetup

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookline/hookline/internal/amqpdial"
)

// Queue types for [Options.QueueType].
const (
	Classic = "classic"
	Quorum  = "quorum"
)

// Options tunes [Declare]. A nil *Options means all defaults.
type Options struct {
	// QueueType is the x-queue-type argument: [Quorum] (recommended) or [Classic]. Empty leaves
	// the server's default (classic unless the server or vhost sets another).
	QueueType string
	// DeadLetterExchange, when set, is the x-dead-letter-exchange argument: where the broker itself
	// sends messages it rejects, expires, or (quorum queues) delivers more than DeliveryLimit
	// times. hookline's consumer dead-letters on its own channel; this is the broker's safety net.
	DeadLetterExchange string
	// DeliveryLimit, when positive, is the x-delivery-limit argument (quorum queues only): the
	// broker drops or dead-letters a message returned this many times. Set it above
	// ConsumerOptions.MaxDeliveries so that the consumer's dead-lettering, which keeps the
	// reason, normally comes first.
	DeliveryLimit int
	// Arguments are further queue arguments, passed as they are. They win over the fields above.
	Arguments amqp.Table
}

func (o *Options) queueArgs() amqp.Table {
	args := amqp.Table{}
	if o == nil {
		return args
	}
	if o.QueueType != "" {
		args["x-queue-type"] = o.QueueType
	}
	if o.DeadLetterExchange != "" {
		args["x-dead-letter-exchange"] = o.DeadLetterExchange
	}
	if o.DeliveryLimit > 0 {
		args["x-delivery-limit"] = int64(o.DeliveryLimit)
	}
	for k, v := range o.Arguments {
		args[k] = v
	}
	return args
}

// Declare creates, if they do not exist yet, the durable fanout exchange, the durable queue and a
// binding from the exchange to the queue, on the server at serverURL (an amqp:// or amqps:// URL,
// the value of RABBIT_SERVER_URL). It fails if the exchange or queue exists with other settings.
func Declare(ctx context.Context, serverURL, exchange, queue string, opts *Options) error {
	if exchange == "" || queue == "" {
		return errors.New("rabbitsetup: Declare needs an exchange and a queue name")
	}
	return withChannel(ctx, serverURL, func(ch *amqp.Channel) error {
		if err := ch.ExchangeDeclare(exchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
			return fmt.Errorf("rabbitsetup: declare exchange %q: %w", exchange, err)
		}
		if _, err := ch.QueueDeclare(queue, true, false, false, false, opts.queueArgs()); err != nil {
			return fmt.Errorf("rabbitsetup: declare queue %q: %w", queue, err)
		}
		if err := ch.QueueBind(queue, "", exchange, false, nil); err != nil {
			return fmt.Errorf("rabbitsetup: bind queue %q to exchange %q: %w", queue, exchange, err)
		}
		return nil
	})
}

// Delete deletes the queue (with any messages in it) and the exchange. Either name may be empty to
// leave that object alone; deleting what does not exist is not an error.
func Delete(ctx context.Context, serverURL, exchange, queue string) error {
	return withChannel(ctx, serverURL, func(ch *amqp.Channel) error {
		if queue != "" {
			if _, err := ch.QueueDelete(queue, false, false, false); err != nil {
				return fmt.Errorf("rabbitsetup: delete queue %q: %w", queue, err)
			}
		}
		if exchange != "" {
			if err := ch.ExchangeDelete(exchange, false, false); err != nil {
				return fmt.Errorf("rabbitsetup: delete exchange %q: %w", exchange, err)
			}
		}
		return nil
	})
}

// withChannel connects to serverURL, runs f on a fresh AMQP channel and closes the connection.
// The connection is closed early when ctx ends, which fails whatever f is waiting for.
func withChannel(ctx context.Context, serverURL string, f func(*amqp.Channel) error) error {
	conn, err := Dial(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	ch, err := conn.Channel()
	if err == nil {
		err = f(ch)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}

// Dial opens an AMQP connection to serverURL, giving up when ctx ends. Errors show the URL with
// its password redacted. The caller closes the connection.
func Dial(ctx context.Context, serverURL string) (*amqp.Connection, error) {
	conn, err := amqpdial.Dial(ctx, serverURL)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("rabbitsetup: %w", err)
	}
	return conn, err
}

func redact(serverURL string) string { return amqpdial.Redact(serverURL) }
