package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/batcher"
	"gocloud.dev/pubsub/driver"
)

// TopicOptions tunes [OpenTopic]. Zero fields mean the documented defaults.
type TopicOptions struct {
	// MaxHandlers is how many batches may be in flight at once, each published on an AMQP
	// channel of its own and waiting for the broker's confirms. Default 16.
	MaxHandlers int
	// MaxBatchSize is the most messages in one batch. Default 64.
	MaxBatchSize int
}

const (
	defaultMaxHandlers  = 16
	defaultMaxBatchSize = 64
)

// deliveryCountHeader is the header in which quorum queues count a message's earlier deliveries.
// It belongs to the broker: a forwarded message must not carry it.
const deliveryCountHeader = "x-delivery-count"

// OpenTopic connects to serverURL and returns a topic that publishes to the named exchange. The
// topic owns its connection and closes it on Shutdown. The exchange is not checked until the
// first send.
func OpenTopic(ctx context.Context, serverURL, exchange string, opts *TopicOptions) (*pubsub.Topic, error) {
	var o TopicOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxHandlers <= 0 {
		o.MaxHandlers = defaultMaxHandlers
	}
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = defaultMaxBatchSize
	}
	conn, err := dial(ctx, serverURL)
	if err != nil {
		return nil, err
	}
	t := &topic{conn: conn, exchange: exchange, maxBatch: o.MaxBatchSize}
	return pubsub.NewTopic(t, &batcher.Options{MaxHandlers: o.MaxHandlers, MaxBatchSize: o.MaxBatchSize}), nil
}

// topic is a driver.Topic. gocloud's batcher calls SendBatch from up to MaxHandlers goroutines
// at once; each call takes an idle publisher (an AMQP channel in confirm mode) or opens one.
type topic struct {
	conn     *amqp.Connection
	exchange string
	maxBatch int

	mu   sync.Mutex
	idle []*publisher
}

var _ driver.Topic = (*topic)(nil)

// publisher is an AMQP channel in confirm mode, used by one batch at a time. returns is
// buffered for a whole batch: the broker sends basic.return before the basic.ack of the same
// message, and amqp091 hands both over in that order, so once every message of a batch is
// confirmed, its returns are in the buffer.
type publisher struct {
	ch      *amqp.Channel
	returns chan amqp.Return
	closed  chan *amqp.Error
}

func (t *topic) acquire() (*publisher, error) {
	t.mu.Lock()
	if n := len(t.idle); n > 0 {
		p := t.idle[n-1]
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		return p, nil
	}
	t.mu.Unlock()
	ch, err := t.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: open a channel to publish to exchange %q: %w", t.exchange, err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("rabbitmq: confirm mode for exchange %q: %w", t.exchange, err)
	}
	return &publisher{
		ch:      ch,
		returns: ch.NotifyReturn(make(chan amqp.Return, t.maxBatch)),
		closed:  ch.NotifyClose(make(chan *amqp.Error, 1)),
	}, nil
}

// release puts p back for the next batch, or closes it when it may be in an unknown state.
func (t *topic) release(p *publisher, reusable bool) {
	if !reusable || p.ch.IsClosed() {
		p.ch.Close()
		return
	}
	t.mu.Lock()
	t.idle = append(t.idle, p)
	t.mu.Unlock()
}

// SendBatch publishes ms and waits until the broker has confirmed every one of them.
func (t *topic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	p, err := t.acquire()
	if err != nil {
		return err
	}
	err = t.publish(ctx, p, ms)
	var rerr *returnedError
	t.release(p, err == nil || errors.As(err, &rerr))
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.AfterSend != nil {
			if err := m.AfterSend(func(any) bool { return false }); err != nil {
				return err
			}
		}
	}
	return nil
}

// publish publishes ms on p and waits for their confirms, tracked by delivery tag. A message the
// broker returned as unroutable fails the batch with a *returnedError.
func (t *topic) publish(ctx context.Context, p *publisher, ms []*driver.Message) error {
	confirms := make([]*amqp.DeferredConfirmation, 0, len(ms))
	var perr error
	for _, m := range ms {
		pub, err := publishing(m)
		if err == nil {
			var dc *amqp.DeferredConfirmation
			dc, err = p.ch.PublishWithDeferredConfirmWithContext(ctx, t.exchange, "", true, false, pub)
			confirms = append(confirms, dc)
		}
		if err != nil {
			perr = err
			break
		}
	}
	nacked := 0
	for _, dc := range confirms {
		if dc == nil {
			continue
		}
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return err // ctx ended; p is closed by the caller
		}
		if !ok {
			nacked++
		}
	}
	if (nacked > 0 || perr != nil) && p.ch.IsClosed() {
		return fmt.Errorf("rabbitmq: publish to exchange %q: %w", t.exchange, closeError(p.closed))
	}
	if perr != nil {
		return fmt.Errorf("rabbitmq: publish to exchange %q: %w", t.exchange, perr)
	}
	if err := drainReturns(p.returns, t.exchange); err != nil {
		return err
	}
	if nacked > 0 {
		return fmt.Errorf("rabbitmq: the broker refused %d of %d messages sent to exchange %q", nacked, len(ms), t.exchange)
	}
	return nil
}

// returnedError reports messages the broker returned as unroutable (NO_ROUTE: no queue is bound
// to the exchange). It unwraps to an *amqp.Error with the broker's reply code.
type returnedError struct {
	exchange string
	n        int
	first    amqp.Return
}

func (e *returnedError) Error() string {
	return fmt.Sprintf("rabbitmq: %d message(s) returned by exchange %q: %s (code %d; is a queue bound to it?)",
		e.n, e.exchange, e.first.ReplyText, e.first.ReplyCode)
}

func (e *returnedError) Unwrap() error {
	return &amqp.Error{Code: int(e.first.ReplyCode), Reason: e.first.ReplyText, Server: true}
}

// drainReturns empties returns without waiting and reports what it found.
func drainReturns(returns <-chan amqp.Return, exchange string) error {
	var e *returnedError
	for {
		select {
		case r, ok := <-returns:
			if ok {
				if e == nil {
					e = &returnedError{exchange: exchange, first: r}
				}
				e.n++
				continue
			}
		default:
		}
		if e == nil {
			return nil
		}
		return e
	}
}

// publishing converts m to a persistent AMQP publishing with the event id as its message id and
// the metadata as string headers, then lets m's BeforeSend change it.
func publishing(m *driver.Message) (amqp.Publishing, error) {
	headers := make(amqp.Table, len(m.Metadata))
	for k, v := range m.Metadata {
		if k != deliveryCountHeader {
			headers[k] = v
		}
	}
	pub := amqp.Publishing{
		Headers:      headers,
		Body:         m.Body,
		DeliveryMode: amqp.Persistent,
		MessageId:    m.Metadata["ce_id"],
	}
	if m.BeforeSend != nil {
		as := func(i any) bool {
			if p, ok := i.(**amqp.Publishing); ok {
				*p = &pub
				return true
			}
			return false
		}
		if err := m.BeforeSend(as); err != nil {
			return pub, err
		}
	}
	return pub, nil
}

// IsRetryable reports false: the driver does not retry, the consumer loop and the webhook's
// caller do.
func (*topic) IsRetryable(error) bool { return false }

// As accepts nothing; see the package doc.
func (*topic) As(any) bool { return false }

// ErrorAs accepts an **amqp.Error.
func (*topic) ErrorAs(err error, i any) bool { return errorAs(err, i) }

// ErrorCode maps AMQP reply codes; see the package doc.
func (*topic) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// Close closes the topic's connection, and with it every publisher.
func (t *topic) Close() error {
	if err := t.conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("rabbitmq: close connection of exchange %q: %w", t.exchange, err)
	}
	return nil
}
