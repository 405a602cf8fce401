package channel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

// BatchHandler processes several events at once, as a sink that writes a batch in one
// transaction or one request does (sink.BatchApplier). It returns one [BatchResult] per event,
// in order: one event's failure does not fail the others. Like a [Handler], it must return
// ctx's error for the events it did not finish when ctx ends first, and classify failures with
// the hookline error codes.
type BatchHandler func(ctx context.Context, batch []Delivered) []BatchResult

// Delivered is one event of a batch, with the context of its own delivery: log with Context,
// and add span events to it, so that what is said of the event joins the event's trace (its
// process span) rather than the batch's.
type Delivered struct {
	Context context.Context
	Event   hookline.Event
}

// BatchResult is what a [BatchHandler] did with one event: Err nil when it is done, and then
// Ignored when it changed nothing (what [ReportIgnored] says from a Handler).
type BatchResult struct {
	Err     error
	Ignored bool
}

// Defaults of a batch consumer ([NewBatchConsumer]).
const (
	DefaultMaxBatch    = 100
	DefaultBatchWait   = 10 * time.Millisecond
	DefaultBatchCalls  = 4
	attrBatchSize      = attribute.Key("messaging.batch.message_count")
	batchSpanEventName = "handled in batch"
)

// NewBatchConsumer returns a consumer of recv's messages that hands them to h in batches: what
// it has received together, up to opts.MaxBatch messages (default [DefaultMaxBatch]), waiting
// at most opts.BatchWait (default [DefaultBatchWait]) after the first message of a batch for
// more. Under load, batches fill at once from what the broker has delivered meanwhile; when
// events trickle in, each waits at most BatchWait.
//
// The rules are a [Consumer]'s, per message: each event of a batch has its own process span,
// delivery count, attempts, verdict and acknowledgement. The events that fail transiently are
// tried again together, with backoff, up to MaxAttempts handler calls, then returned to the
// broker; a Permanent failure, an undecodable message and a message past MaxDeliveries are
// dead-lettered alone. Timeout bounds one handler call, that is one batch. Concurrency bounds the
// handler calls at once (default [DefaultBatchCalls]), so at most Concurrency×MaxBatch messages
// are held at once.
func NewBatchConsumer(recv *Receiver, h BatchHandler, opts *ConsumerOptions) (*Consumer, error) {
	if recv == nil || h == nil {
		return nil, errors.New("channel: NewBatchConsumer needs a receiver and a handler")
	}
	var o ConsumerOptions
	if opts != nil {
		o = *opts
	}
	setDefault(&o.Concurrency, DefaultBatchCalls)
	setDefault(&o.MaxBatch, DefaultMaxBatch)
	setDefault(&o.BatchWait, DefaultBatchWait)
	c, err := NewConsumer(recv, func(context.Context, hookline.Event) error {
		return errors.New("channel: a batch consumer handles batches")
	}, &o)
	if err != nil {
		return nil, err
	}
	c.handleBatch = h
	return c, nil
}

// runBatches is Run for a batch consumer: it gathers batches while a handler call is free and
// processes each on its own goroutine.
func (c *Consumer) runBatches(ctx, work context.Context, wg *sync.WaitGroup) error {
	slots := make(chan struct{}, c.opts.Concurrency)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		msgs, err := c.gather(ctx)
		if len(msgs) > 0 {
			c.count(func(s *Stats) { s.Received += int64(len(msgs)) })
			wg.Go(func() {
				defer func() { <-slots }()
				c.processBatch(work, msgs)
			})
		} else {
			<-slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// gather receives a batch: one message, waiting for it, then what else arrives within BatchWait,
// up to MaxBatch. It returns what it received and, when the subscription failed or ctx ended,
// why it stopped.
func (c *Consumer) gather(ctx context.Context) ([]*pubsub.Message, error) {
	first, err := c.recv.Receive(ctx)
	if err != nil {
		return nil, err
	}
	msgs := make([]*pubsub.Message, 1, c.opts.MaxBatch)
	msgs[0] = first
	if c.opts.MaxBatch == 1 {
		return msgs, nil
	}
	wait, cancel := context.WithTimeout(ctx, c.opts.BatchWait)
	defer cancel()
	for len(msgs) < c.opts.MaxBatch {
		m, err := c.recv.Receive(wait)
		if err != nil {
			if wait.Err() != nil && ctx.Err() == nil {
				return msgs, nil // the wait is over
			}
			return msgs, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// processBatch settles each of msgs exactly once, as process does one message.
func (c *Consumer) processBatch(ctx context.Context, msgs []*pubsub.Message) {
	ds := make([]inFlight, len(msgs))
	todo := make([]int, 0, len(msgs))
	for i, msg := range msgs {
		delivery, exact := deliveries(msg)
		reported := 0
		if exact {
			reported = delivery
		} else {
			delivery += c.counts.next(msg.LoggableID) - 1
		}
		ds[i] = c.begin(ctx, msg.Body, msg.Metadata, delivery, reported)
		if !ds[i].decided {
			todo = append(todo, i)
		}
	}
	if len(todo) > 0 {
		c.attemptBatch(ctx, ds, todo)
	}
	for i, msg := range msgs {
		if err := c.end(&ds[i]); err != nil || ds[i].v.kind == retry {
			c.giveBack(msg)
			continue
		}
		c.ack(msg, msg.LoggableID)
	}
}

// attemptBatch calls the batch handler on the deliveries ds[todo], then again, with backoff, on
// those that failed transiently, up to MaxAttempts calls, and sets each one's verdict.
func (c *Consumer) attemptBatch(ctx context.Context, ds []inFlight, todo []int) {
	for n := 1; ; n++ {
		results, took := c.callBatch(ctx, ds, todo, n)
		var again []int
		var retryAfter time.Duration
		for k, i := range todo {
			d, r := &ds[i], results[k]
			d.v.attempts = n
			if c.opts.OnSettled != nil {
				d.v.calls = append(d.v.calls, Attempt{Err: r.Err, Took: took})
			}
			retryAfter = max(retryAfter, hookline.RetryAfter(r.Err))
			code := hookline.Code(r.Err)
			if code == hookline.OK || code == hookline.Permanent || ctx.Err() != nil || n >= c.opts.MaxAttempts {
				c.concludeIn(d, n, r.Ignored, r.Err)
				continue
			}
			again = append(again, i)
			c.count(func(s *Stats) { s.Retries++ })
			c.meters.recordEvent(d.ctx, OutcomeRetried, errorType(r.Err))
		}
		if len(again) == 0 {
			// Honour a Retry-After even on the way out, so a throttled sink is not hit again at once.
			if retryAfter > 0 && n >= c.opts.MaxAttempts {
				sleep(ctx, retryAfter)
			}
			return
		}
		todo = again
		if !sleep(ctx, c.backoff(n, retryAfter)) {
			for _, i := range todo {
				c.concludeIn(&ds[i], n, false, ctx.Err())
			}
			return
		}
	}
}

// concludeIn sets d's verdict after n calls of the batch handler, keeping the calls recorded.
func (c *Consumer) concludeIn(d *inFlight, n int, ignored bool, err error) {
	calls := d.v.calls
	d.v = c.conclude(d.ctx, d.ev, n, ignored, err, d.delivery)
	d.v.calls = calls
}

// callBatch runs the batch handler once (attempt n) on ds[todo] with the per-call deadline, in a
// "handle" span linked to each delivery's process span (and the child of it when there is one), turning a panic or a wrong number of
// results into a failure of every event. It returns one result per event and the call's time.
func (c *Consumer) callBatch(ctx context.Context, ds []inFlight, todo []int, n int) (results []BatchResult, took time.Duration) {
	start := time.Now()
	batch := make([]Delivered, len(todo))
	links := make([]trace.Link, 0, len(todo))
	for k, i := range todo {
		batch[k] = Delivered{Context: ds[i].ctx, Event: ds[i].ev}
		if sc := ds[i].span.SpanContext(); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	if len(todo) == 1 {
		ctx = ds[todo[0]].ctx // one event: its handle span is a child of its process span, as for a Handler
	}
	ctx, span := c.trace.startBatch(ctx, n, len(todo), links)
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var failed error
	defer func() {
		if p := recover(); p != nil {
			c.opts.Logger.LogAttrs(ctx, slog.LevelError, "hookline: batch handler panicked",
				slog.Any("panic", p), slog.Int("events", len(todo)), slog.String("stack", string(debug.Stack())))
			failed = fmt.Errorf("channel: batch handler panicked: %v", p)
		}
		if failed != nil {
			results = make([]BatchResult, len(todo))
			for k := range results {
				results[k].Err = failed
			}
		}
		endSpan(span, failed)
		took = time.Since(start)
		c.trace.noteBatch(ds, todo, results, span, n)
	}()
	results = c.handleBatch(ctx, batch)
	if len(results) != len(todo) {
		failed = fmt.Errorf("channel: the batch handler returned %d results for %d events", len(results), len(todo))
	}
	return results, 0
}
