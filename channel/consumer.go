package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/eventlog"
)

// Handler processes one event. A sink's Write method is a Handler. It must return ctx's error
// (unwrapped or wrapped) when ctx ends first, and classify other failures with the hookline
// error codes: Permanent failures are dead-lettered, anything else is retried.
type Handler func(ctx context.Context, ev hookline.Event) error

// Metadata keys the consumer adds to a dead-lettered message, next to the original metadata. The
// body is the original body, unchanged.
const (
	MetaDeadLetterReason   = "hookline-dead-letter-reason"   // the last error, or why it was never tried
	MetaDeadLetterKind     = "hookline-dead-letter-kind"     // permanent | undecodable | max-deliveries
	MetaDeadLetterAttempts = "hookline-dead-letter-attempts" // handler calls in this delivery
	MetaDeadLetterDelivery = "hookline-dead-letter-delivery" // the broker's delivery count, when known
	MetaDeadLetterTime     = "hookline-dead-letter-time"     // RFC 3339, UTC
)

// ConsumerOptions tunes a [Consumer]. Zero values mean the defaults given per field.
type ConsumerOptions struct {
	// Concurrency bounds the handler calls at once: messages processed at once, default 16; for
	// a batch consumer ([NewBatchConsumer]) batches, default [DefaultBatchCalls].
	Concurrency int
	// MaxBatch bounds the messages of one batch, for a batch consumer ([NewBatchConsumer]) only.
	// Default [DefaultMaxBatch].
	MaxBatch int
	// BatchWait is how long a batch consumer waits, after the first message of a batch, for
	// more before it hands over what it has. Default [DefaultBatchWait].
	BatchWait time.Duration
	// Timeout is the deadline of one handler call (of one batch, for a batch consumer). Default
	// 30s.
	Timeout time.Duration
	// MaxAttempts is how many times one delivery is tried before it is returned to the broker.
	// Default 3.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential backoff between attempts (full jitter).
	// Defaults 100ms and 5s. A failure that carries a Retry-After waits at least that long.
	MinBackoff, MaxBackoff time.Duration
	// MaxDeliveries dead-letters a message the broker has delivered more than this many times.
	// Default 10. The count comes from the driver where it reports one ([DeliveryCount]), else
	// from this process's own count of deliveries of the same message (keyed by its LoggableID,
	// which for RabbitMQ is the event id that Sender sets as the AMQP message id).
	MaxDeliveries int
	// DeadLetter receives permanent failures, undecodable messages and messages past
	// MaxDeliveries. When nil, such messages cannot be set aside: they are logged at ERROR and
	// returned to the broker, never acknowledged.
	DeadLetter *Sender
	// DrainTimeout bounds how long Run waits, after its context ends, for in-flight messages.
	// Work still running then is canceled and its messages are returned to the broker. Default 30s.
	DrainTimeout time.Duration
	// Logger receives the consumer's logs. Default: none.
	Logger *slog.Logger
	// OnAck, when set, is called after each message is acknowledged: processed, or dead-lettered
	// and so set aside. An in-process pipeline uses it to bound the messages it has accepted but
	// not yet settled.
	OnAck func()
	// TracerProvider gives the tracer of the process spans (see the package doc,
	// # Observability). Default: the global provider, otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider gives the meter of the consumer's metrics (see the package doc,
	// # Observability). Default: the global provider, otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Sink names the sink in the hookline.* metrics (the hookline.sink attribute): a short
	// fixed name such as the sink URL's scheme ("postgres", "dataverse"). Default: none.
	Sink string
	// OnSettled, when set, is told how each delivery ended, with every handler attempt: what an
	// operator console shows per event (package console). It is called synchronously on the
	// delivery's goroutine, after the message was dead-lettered if it was and before it is
	// acknowledged or returned, so it must be quick. It may keep s: nothing in it is reused.
	OnSettled func(ctx context.Context, s Settled)
}

// Settled is how one delivery ended, as [ConsumerOptions.OnSettled] is told.
type Settled struct {
	// Event is the event as decoded; for an undecodable message, only its ID, Type and Subject,
	// from the message's metadata.
	Event hookline.Event
	// Delivery is the delivery count the consumer's rules used (1 for the first).
	Delivery int
	// Outcome is OutcomeStored, OutcomeIgnored, OutcomeReturned (to come again) or
	// OutcomeDeadLettered.
	Outcome string
	// Reason says why a delivery was returned or dead-lettered: the dead-letter reason, or the
	// last attempt's error. Kind is the dead-letter kind ("permanent", "undecodable",
	// "max-deliveries") or "" when not dead-lettered.
	Reason, Kind string
	// Attempts are the handler calls of this delivery, in order; none when the message was
	// undecodable or past MaxDeliveries.
	Attempts []Attempt
	// TraceID is the trace of the delivery (the webhook's trace when it was propagated), or ""
	// without tracing.
	TraceID string
	// At is when the delivery ended.
	At time.Time
}

// Attempt is one handler call of a delivery.
type Attempt struct {
	Err  error // nil when the call succeeded
	Took time.Duration
}

func (o *ConsumerOptions) withDefaults() ConsumerOptions {
	var c ConsumerOptions
	if o != nil {
		c = *o
	}
	setDefault(&c.Concurrency, 16)
	setDefault(&c.Timeout, 30*time.Second)
	setDefault(&c.MaxAttempts, 3)
	setDefault(&c.MinBackoff, 100*time.Millisecond)
	setDefault(&c.MaxBackoff, 5*time.Second)
	setDefault(&c.MaxDeliveries, 10)
	setDefault(&c.DrainTimeout, 30*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

func setDefault[T int | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}

// Consumer receives messages from a [Receiver] and hands their events to a [Handler].
type Consumer struct {
	recv        *Receiver
	handle      Handler
	handleBatch BatchHandler // set for a batch consumer
	opts        ConsumerOptions
	counts      deliveryCounter
	trace       tracing
	meters      *meters
	stats       Stats
	statsMu     sync.Mutex
}

// Stats counts what a consumer did with the messages it received.
type Stats struct {
	Received, Acked, Nacked, Released, DeadLettered, Retries int64
}

// NewConsumer returns a consumer of recv's messages.
func NewConsumer(recv *Receiver, h Handler, opts *ConsumerOptions) (*Consumer, error) {
	if recv == nil || h == nil {
		return nil, errors.New("channel: NewConsumer needs a receiver and a handler")
	}
	c := &Consumer{recv: recv, handle: h, opts: opts.withDefaults(), counts: newDeliveryCounter()}
	c.trace = newTracing(c.opts.TracerProvider, recv.link.rawURL, nil)
	c.meters = newMeters(c.opts.MeterProvider, c.trace, c.opts.Sink)
	recv.link.setLogger(c.opts.Logger)
	return c, nil
}

// Stats returns a snapshot of the consumer's counters.
func (c *Consumer) Stats() Stats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.stats
}

func (c *Consumer) count(f func(*Stats)) {
	c.statsMu.Lock()
	f(&c.stats)
	c.statsMu.Unlock()
}

// Run receives and processes messages until ctx ends, then drains: it stops receiving, waits up to
// DrainTimeout for in-flight messages and returns nil. It returns early with an error when the
// subscription fails for good. Run does not shut the receiver down; call Receiver.Shutdown after
// it returns so that acknowledgements are flushed.
func (c *Consumer) Run(ctx context.Context) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	if c.handleBatch != nil {
		err := c.runBatches(ctx, work, &wg)
		c.drain(&wg, cancelWork)
		return err
	}
	slots := make(chan struct{}, c.opts.Concurrency)
	// Messages go to long-lived workers, started as needed up to Concurrency, rather than to a
	// goroutine each: a new goroutine's stack is grown (copied) on every message, since decoding
	// and settling one takes more than its initial size. A slot is held from before Receive until
	// the message is settled, so at most Concurrency messages are in hand at once, as before.
	msgs := make(chan *pubsub.Message)
	workers := 0
	worker := func(msg *pubsub.Message) {
		defer wg.Done()
		for ok := true; ok; msg, ok = <-msgs {
			c.process(work, msg)
			<-slots
		}
	}
	var runErr error
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		msg, err := c.recv.Receive(ctx)
		if err != nil {
			<-slots
			if ctx.Err() == nil {
				runErr = err
			}
			break
		}
		c.count(func(s *Stats) { s.Received++ })
		select {
		case msgs <- msg: // an idle worker
			continue
		default:
		}
		if workers < c.opts.Concurrency {
			workers++
			wg.Add(1)
			go worker(msg)
			continue
		}
		msgs <- msg // every worker started: the one that freed the slot is about to take it
	}
	close(msgs)
	c.drain(&wg, cancelWork)
	return runErr
}

func (c *Consumer) drain(wg *sync.WaitGroup, cancelWork context.CancelFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(c.opts.DrainTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		c.opts.Logger.Warn("hookline: drain timeout: canceling in-flight messages", "timeout", c.opts.DrainTimeout)
		cancelWork()
		<-done
	}
}

// process settles msg exactly once: ack, nack or release (left to the broker's timeout).
func (c *Consumer) process(ctx context.Context, msg *pubsub.Message) {
	key := msg.LoggableID
	delivery, exact := deliveries(msg)
	reported := 0
	if exact {
		reported = delivery
	} else {
		// delivery is a lower bound that counts one delivery this process now sees.
		delivery += c.counts.next(key) - 1
	}
	v, err := c.settle(ctx, msg.Body, msg.Metadata, delivery, reported)
	if v.kind == retry || err != nil {
		c.giveBack(msg)
		return
	}
	c.ack(msg, key)
}

// settle is the processing shared by pulled and pushed deliveries, inside the delivery's process
// span: it decodes body, runs the handler and dead-letters the message when the verdict says so,
// failing when that is needed and fails. delivery is the delivery count the rules use, reported
// the broker's own (0 when it reports none). It records the delivery's metrics.
func (c *Consumer) settle(ctx context.Context, body []byte, md map[string]string, delivery, reported int) (verdict, error) {
	d := c.begin(ctx, body, md, delivery, reported)
	if !d.decided {
		var calls *[]Attempt
		if c.opts.OnSettled != nil {
			calls = new([]Attempt)
		}
		attempts, ignored, err := c.attempt(d.ctx, d.ev, calls)
		d.v = c.conclude(d.ctx, d.ev, attempts, ignored, err, delivery)
		if calls != nil {
			d.v.calls = *calls
		}
	}
	return d.v, c.end(&d)
}

// inFlight is one message on its way through the consumer's rules, from [Consumer.begin] to
// [Consumer.end].
type inFlight struct {
	ctx      context.Context // the process span's
	span     trace.Span
	start    time.Time
	body     []byte
	md       map[string]string
	ev       hookline.Event
	delivery int
	v        verdict
	decided  bool // v was decided before any handler call: undecodable, or past MaxDeliveries
}

// begin decodes body, starts the delivery's process span and applies the rules that need no
// handler call.
func (c *Consumer) begin(ctx context.Context, body []byte, md map[string]string, delivery, reported int) inFlight {
	d := inFlight{start: time.Now(), body: body, md: md, delivery: delivery}
	ev, decodeErr := Decode(body)
	d.ev = ev
	d.ctx, d.span = c.trace.startProcess(ctx, md, ev, reported)
	d.v, d.decided = c.precheck(ev, decodeErr, delivery)
	return d
}

// end dead-letters the delivery when its verdict says so, ends its span, records its metrics
// and tells OnSettled. It returns the dead-letter send's failure: the message must then go back
// to the broker.
func (c *Consumer) end(d *inFlight) error {
	ctx, v := d.ctx, d.v
	var err error
	if v.kind != "" && v.kind != retry {
		err = c.deadLetter(ctx, d.ev, d.body, d.md, v, d.delivery)
	}
	endProcess(d.span, v, err)
	c.meters.recordProcess(ctx, time.Since(d.start), v)
	switch {
	case v.kind == "" && v.ignored:
		c.meters.recordEvent(ctx, OutcomeIgnored, "")
	case v.kind == "":
		c.meters.recordEvent(ctx, OutcomeStored, "")
		c.meters.recordLag(ctx, d.ev.Time)
	case v.kind == retry:
		c.meters.recordEvent(ctx, OutcomeReturned, errorType(v.err))
	case err != nil:
		c.meters.recordEvent(ctx, OutcomeReturned, "dead_letter_failed")
	default:
		c.meters.recordEvent(ctx, OutcomeDeadLettered, v.kind)
	}
	if c.opts.OnSettled != nil {
		c.opts.OnSettled(ctx, settled(ctx, d.ev, d.md, v, err, d.delivery))
	}
	return err
}

// settled describes the end of a delivery for OnSettled.
func settled(ctx context.Context, ev hookline.Event, md map[string]string, v verdict, dlErr error, delivery int) Settled {
	s := Settled{Event: ev, Delivery: delivery, Kind: v.kind, Attempts: v.calls, At: time.Now()}
	if s.Event.ID == "" {
		s.Event.ID, s.Event.Type, s.Event.Subject = md["ce_id"], md["ce_type"], md["ce_subject"]
	}
	switch {
	case v.kind == "" && v.ignored:
		s.Outcome = OutcomeIgnored
	case v.kind == "":
		s.Outcome = OutcomeStored
	case v.kind == retry:
		s.Outcome, s.Kind = OutcomeReturned, ""
		if v.err != nil {
			s.Reason = v.err.Error()
		}
	case dlErr != nil:
		s.Outcome, s.Reason = OutcomeReturned, "dead-letter send failed: "+dlErr.Error()+" (dead-letter reason: "+v.reason+")"
	default:
		s.Outcome, s.Reason = OutcomeDeadLettered, v.reason
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		s.TraceID = sc.TraceID().String()
	}
	return s
}

// verdict is what became of one delivery: kind is "" when the handler succeeded, retry when the
// message must go back to the broker, and otherwise the reason it is dead-lettered.
type verdict struct {
	kind     string // "", retry, "max-deliveries", "undecodable", "permanent"
	reason   string
	attempts int
	err      error
	ignored  bool      // the handler succeeded and reported that it changed nothing
	calls    []Attempt // each handler call, kept only for OnSettled
}

const retry = "retry"

// precheck applies the rules that need no handler call to ev, decoded from a message with
// decodeErr: it reports the verdict and true when the message is past MaxDeliveries or
// undecodable. delivery is the broker's delivery count, or 0 when unknown.
func (c *Consumer) precheck(ev hookline.Event, decodeErr error, delivery int) (verdict, bool) {
	if delivery > c.opts.MaxDeliveries {
		return verdict{kind: "max-deliveries",
			reason: fmt.Sprintf("delivered %d times, more than MaxDeliveries=%d", delivery, c.opts.MaxDeliveries)}, true
	}
	if err := decodeErr; err != nil {
		return verdict{kind: "undecodable", reason: err.Error(), err: err}, true
	}
	return verdict{}, false
}

// conclude turns the handler's last answer about ev, after attempts calls, into the delivery's
// verdict: done, dead-lettered when the failure is Permanent, else returned to the broker.
func (c *Consumer) conclude(ctx context.Context, ev hookline.Event, attempts int, ignored bool, err error, delivery int) verdict {
	v := verdict{attempts: attempts, ignored: ignored}
	switch hookline.Code(err) {
	case hookline.OK:
		return v
	case hookline.Permanent:
		v.kind, v.reason, v.err = "permanent", err.Error(), err
		return v
	}
	c.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "hookline: returning message to the broker", eventlog.Attrs(ctx, ev,
		slog.Int("attempts", attempts), slog.Int("delivery", delivery), slog.String("error", err.Error()))...)
	v.kind, v.err = retry, err
	return v
}

// attempt calls the handler up to MaxAttempts times with backoff between transient failures. It
// returns the number of calls, whether the last one reported the event ignored, and its error;
// calls, when not nil, gets each call appended.
func (c *Consumer) attempt(ctx context.Context, ev hookline.Event, calls *[]Attempt) (int, bool, error) {
	for n := 1; ; n++ {
		var start time.Time
		if calls != nil {
			start = time.Now()
		}
		ignored, err := c.call(ctx, ev, n)
		if calls != nil {
			*calls = append(*calls, Attempt{Err: err, Took: time.Since(start)})
		}
		code := hookline.Code(err)
		if code == hookline.OK || code == hookline.Permanent || ctx.Err() != nil {
			return n, ignored, err
		}
		wait := c.backoff(n, hookline.RetryAfter(err))
		if n >= c.opts.MaxAttempts {
			// Honour a Retry-After even on the way out, so a throttled sink is not hit again at once.
			if ra := hookline.RetryAfter(err); ra > 0 {
				sleep(ctx, ra)
			}
			return n, false, err
		}
		c.count(func(s *Stats) { s.Retries++ })
		c.meters.recordEvent(ctx, OutcomeRetried, errorType(err))
		if c.opts.Logger.Enabled(ctx, slog.LevelDebug) {
			c.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "hookline: retrying", eventlog.Attrs(ctx, ev,
				slog.Int("attempt", n), slog.Duration("wait", wait), slog.String("error", err.Error()))...)
		}
		if !sleep(ctx, wait) {
			return n, false, err
		}
	}
}

// call runs the handler once (attempt n) with the per-call deadline, in a span of its own,
// turning a panic into an error. ignored reports that the handler called [ReportIgnored].
func (c *Consumer) call(ctx context.Context, ev hookline.Event, n int) (ignored bool, err error) {
	ctx, span := c.trace.startAttempt(ctx, n)
	var flag *atomic.Bool // only hookline.events and OnSettled need to know, so only while they are on
	if c.opts.OnSettled != nil || c.meters.events.Enabled(ctx) {
		flag = new(atomic.Bool)
		ctx = context.WithValue(ctx, ignoredKey{}, flag)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			c.opts.Logger.LogAttrs(ctx, slog.LevelError, "hookline: handler panicked", eventlog.Attrs(ctx, ev,
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))...)
			err = fmt.Errorf("channel: handler panicked: %v", p)
		}
		endSpan(span, err)
		ignored = err == nil && flag != nil && flag.Load()
	}()
	return false, c.handle(ctx, ev)
}

// backoff returns the wait after attempt n: full jitter over an exponential window, and never
// less than retryAfter.
func (c *Consumer) backoff(n int, retryAfter time.Duration) time.Duration {
	window := c.opts.MinBackoff << min(n-1, 30)
	if window <= 0 || window > c.opts.MaxBackoff {
		window = c.opts.MaxBackoff
	}
	d := c.opts.MinBackoff/2 + rand.N(window)
	return max(d, retryAfter)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Consumer) ack(msg *pubsub.Message, key string) {
	msg.Ack()
	c.counts.forget(key)
	c.count(func(s *Stats) { s.Acked++ })
	if c.opts.OnAck != nil {
		c.opts.OnAck()
	}
}

// giveBack returns msg to the broker: nack where the driver can, else leave it to the broker's
// visibility or lock timeout.
func (c *Consumer) giveBack(msg *pubsub.Message) {
	if msg.Nackable() {
		msg.Nack()
		c.count(func(s *Stats) { s.Nacked++ })
		return
	}
	c.count(func(s *Stats) { s.Released++ })
}

// deadLetter publishes body to the dead-letter channel with md and the verdict's reason, kind and
// attempts. It fails, leaving the message to be returned to the broker, when there is no
// dead-letter channel or the send fails: a message is never acknowledged without a copy kept.
func (c *Consumer) deadLetter(ctx context.Context, ev hookline.Event, body []byte, md map[string]string, v verdict, delivery int) error {
	attrs := func(extra ...slog.Attr) []slog.Attr {
		id, typ, subject := ev.ID, ev.Type, ev.Subject
		if id == "" { // undecodable: what the metadata says
			id, typ, subject = md["ce_id"], md["ce_type"], md["ce_subject"]
		}
		return eventlog.Of(ctx, id, typ, subject, append([]slog.Attr{slog.String("kind", v.kind),
			slog.String("reason", v.reason), slog.Int("attempts", v.attempts)}, extra...)...)
	}
	if c.opts.DeadLetter == nil {
		c.opts.Logger.LogAttrs(ctx, slog.LevelError, "hookline: message cannot be processed and no dead-letter channel is configured; returning it to the broker", attrs()...)
		return errors.New("channel: no dead-letter channel configured")
	}
	out := make(map[string]string, len(md)+5)
	for k, val := range md {
		out[k] = val
	}
	out[MetaDeadLetterReason] = v.reason
	out[MetaDeadLetterKind] = v.kind
	out[MetaDeadLetterAttempts] = strconv.Itoa(v.attempts)
	out[MetaDeadLetterDelivery] = strconv.Itoa(delivery)
	out[MetaDeadLetterTime] = time.Now().UTC().Format(time.RFC3339)
	sendCtx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	if err := c.opts.DeadLetter.SendMessage(sendCtx, &pubsub.Message{Body: body, Metadata: out}); err != nil {
		c.opts.Logger.LogAttrs(ctx, slog.LevelError, "hookline: dead-letter send failed; returning message to the broker", attrs(slog.String("error", err.Error()))...)
		return err
	}
	c.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "hookline: message dead-lettered", attrs()...)
	c.count(func(s *Stats) { s.DeadLettered++ })
	return nil
}
