package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
)

// SubscriptionOptions tunes [OpenSubscription]. Zero fields mean the documented defaults.
type SubscriptionOptions struct {
	// Prefetch is the consumer's prefetch count (basic.qos): how many delivered but not yet
	// acknowledged messages the broker allows. Default 256.
	Prefetch int
}

const defaultPrefetch = 256

// OpenSubscription connects to serverURL and returns a subscription that consumes from the named
// queue. The subscription owns its connection and closes it on Shutdown, which returns what it
// had not acknowledged to the queue. The queue is not checked until the first receive.
func OpenSubscription(ctx context.Context, serverURL, queue string, opts *SubscriptionOptions) (*pubsub.Subscription, error) {
	prefetch := defaultPrefetch
	if opts != nil && opts.Prefetch > 0 {
		prefetch = opts.Prefetch
	}
	conn, err := dial(ctx, serverURL)
	if err != nil {
		return nil, err
	}
	s := &subscription{conn: conn, queue: queue, prefetch: prefetch, done: make(chan struct{})}
	return pubsub.NewSubscription(s, nil, nil), nil
}

// subscription is a driver.Subscription. It starts consuming on the first ReceiveBatch; a
// goroutine moves deliveries from amqp091 into buf, whose capacity (the prefetch) the broker
// never exceeds, so that ReceiveBatch can take what has arrived without waiting.
type subscription struct {
	conn     *amqp.Connection
	queue    string
	prefetch int

	startOnce sync.Once
	ch        *amqp.Channel
	buf       chan amqp.Delivery // closed when the consumer ends
	startErr  error
	endErr    error // why the consumer ended; set before buf is closed

	settleMu sync.Mutex // serialises acks and nacks with the frames they send
	pending  unsettled

	closeOnce sync.Once
	done      chan struct{} // closed by Close
}

var _ driver.Subscription = (*subscription)(nil)

// start opens the channel, sets the prefetch and starts consuming, once.
func (s *subscription) start() error {
	s.startOnce.Do(func() {
		ch, err := s.conn.Channel()
		if err != nil {
			s.startErr = fmt.Errorf("rabbitmq: open a channel to consume from queue %q: %w", s.queue, err)
			return
		}
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		if err := ch.Qos(s.prefetch, 0, false); err != nil {
			s.startErr = fmt.Errorf("rabbitmq: set prefetch %d for queue %q: %w", s.prefetch, s.queue, err)
			return
		}
		deliveries, err := ch.Consume(s.queue, "", false, false, false, false, nil)
		if err != nil {
			s.startErr = fmt.Errorf("rabbitmq: consume from queue %q: %w", s.queue, err)
			return
		}
		s.ch = ch
		s.buf = make(chan amqp.Delivery, s.prefetch)
		go s.forward(deliveries, closed)
	})
	return s.startErr
}

// forward moves deliveries into s.buf until the consumer ends, then records why and closes buf.
func (s *subscription) forward(deliveries <-chan amqp.Delivery, closed <-chan *amqp.Error) {
	defer close(s.buf)
	for d := range deliveries {
		s.pending.add(d.DeliveryTag)
		select {
		case s.buf <- d:
		case <-s.done:
			return
		}
	}
	s.endErr = fmt.Errorf("rabbitmq: consumer of queue %q ended: %w", s.queue, closeError(closed))
}

// ReceiveBatch waits for one message (or ctx's end), then adds whatever else has already
// arrived, up to maxMessages, without waiting further.
func (s *subscription) ReceiveBatch(ctx context.Context, maxMessages int) ([]*driver.Message, error) {
	if err := s.start(); err != nil {
		return nil, err
	}
	var first amqp.Delivery
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, fmt.Errorf("rabbitmq: subscription to queue %q: %w", s.queue, amqp.ErrClosed)
	case d, ok := <-s.buf:
		if !ok {
			return nil, s.ended()
		}
		first = d
	}
	ms := make([]*driver.Message, 1, min(maxMessages, len(s.buf)+1))
	ms[0] = toMessage(first)
	for len(ms) < maxMessages {
		select {
		case d, ok := <-s.buf:
			if !ok {
				return ms, nil // the next call reports why
			}
			ms = append(ms, toMessage(d))
			continue
		default:
		}
		break
	}
	return ms, nil
}

func (s *subscription) ended() error {
	if s.endErr != nil {
		return s.endErr
	}
	return fmt.Errorf("rabbitmq: subscription to queue %q: %w", s.queue, amqp.ErrClosed)
}

// toMessage converts a delivery; its As accepts an *amqp.Delivery.
func toMessage(d amqp.Delivery) *driver.Message {
	md := make(map[string]string, len(d.Headers))
	for k, v := range d.Headers {
		if sv, ok := v.(string); ok {
			md[k] = sv
		} else {
			md[k] = fmt.Sprint(v)
		}
	}
	id := d.MessageId
	if id == "" {
		id = fmt.Sprintf("DeliveryTag %d", d.DeliveryTag)
	}
	return &driver.Message{
		LoggableID: id,
		Body:       d.Body,
		Metadata:   md,
		AckID:      d.DeliveryTag,
		AsFunc: func(i any) bool {
			if p, ok := i.(*amqp.Delivery); ok {
				*p = d
				return true
			}
			return false
		},
	}
}

// SendAcks acknowledges the messages: with one basic.ack (multiple) for those that are the oldest
// unsettled ones, and one basic.ack each for the rest.
func (s *subscription) SendAcks(ctx context.Context, ids []driver.AckID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.settleMu.Lock()
	defer s.settleMu.Unlock()
	upTo, single := s.pending.ack(tags(ids))
	if upTo > 0 {
		if err := s.ch.Ack(upTo, true); err != nil {
			return fmt.Errorf("rabbitmq: acknowledge messages of queue %q: %w", s.queue, err)
		}
	}
	for _, tag := range single {
		if err := s.ch.Ack(tag, false); err != nil {
			return fmt.Errorf("rabbitmq: acknowledge messages of queue %q: %w", s.queue, err)
		}
	}
	return nil
}

// CanNack reports true: Nack is basic.nack with requeue.
func (*subscription) CanNack() bool { return true }

// SendNacks returns each message to the queue with basic.nack and requeue.
func (s *subscription) SendNacks(ctx context.Context, ids []driver.AckID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.settleMu.Lock()
	defer s.settleMu.Unlock()
	nacked := tags(ids)
	defer s.pending.remove(nacked) // after the frames: see unsettled
	for _, tag := range nacked {
		if err := s.ch.Nack(tag, false, true); err != nil {
			return fmt.Errorf("rabbitmq: return messages to queue %q: %w", s.queue, err)
		}
	}
	return nil
}

func tags(ids []driver.AckID) []uint64 {
	ts := make([]uint64, len(ids))
	for i, id := range ids {
		ts[i] = id.(uint64)
	}
	return ts
}

// IsRetryable reports false: the driver does not retry.
func (*subscription) IsRetryable(error) bool { return false }

// As accepts a **amqp.Connection: the subscription's own connection.
func (s *subscription) As(i any) bool {
	if p, ok := i.(**amqp.Connection); ok {
		*p = s.conn
		return true
	}
	return false
}

// ErrorAs accepts an **amqp.Error.
func (*subscription) ErrorAs(err error, i any) bool { return errorAs(err, i) }

// ErrorCode maps AMQP reply codes; see the package doc.
func (*subscription) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// Close closes the connection; the broker returns unacknowledged messages to the queue.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	if err := s.conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("rabbitmq: close connection of queue %q: %w", s.queue, err)
	}
	return nil
}
