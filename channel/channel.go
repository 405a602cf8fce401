// Package channel carries events between an emitter and a sink over a message broker, opened from
// a gocloud.dev/pubsub URL, and runs the consumer loop that hands them to a sink. It imports no
// broker client: each broker is supported by a package of its own, which a program imports for its
// side effects.
//
// # URLs
//
// [OpenSender] takes a topic URL and [OpenReceiver] a subscription URL, exactly as
// gocloud.dev/pubsub's OpenTopic and OpenSubscription do. mem:// and inproc:// work out of the
// box; every other scheme needs its package, imported in the main package:
//
//	import _ "github.com/hookline/hookline/channel/rabbitmq"
//
//	built in                 mem://stripe-events (in process, gocloud.dev/pubsub/mempubsub)
//	built in                 inproc://stripe-events (in process, channel/inprocpubsub: a receive
//	                         waits for a send instead of polling, and nothing sent before the
//	                         subscription is opened is dropped)
//	channel/rabbitmq         rabbitmq://exchange, rabbitmq://queue (hookline's RabbitMQ driver);
//	                         rabbit://exchange, rabbit://queue (gocloud's rabbitpubsub)
//	channel/amazonsqs        awssqs://sqs.us-east-2.amazonaws.com/123456789012/queue?region=us-east-2,
//	                         awssns:///arn:aws:sns:us-east-2:123456789012:topic?region=us-east-2
//	channel/azureservicebus  azuresbqueue://queue, azuresb://topic, azuresb://topic?subscription=s
//	channel/googlepubsub     gcppubsub://projects/p/topics/t, gcppubsub://projects/p/subscriptions/s
//
// Each package's doc is the reference for its URL forms and query parameters, provisioning
// (gocloud creates no broker entities: declare them first), delivery semantics, errors and
// security; channel/rabbitsetup declares RabbitMQ exchanges and queues. Opening a scheme whose
// package is not linked fails with an error naming the package to import. A rabbit:// sender
// also fails without channel/rabbitmq even when gocloud's driver is linked some other way,
// because that driver alone publishes transient messages, which a broker restart drops; so do
// awssqs:// and awssns:// senders without channel/amazonsqs, whose [Broker] holds the attribute
// limit of SQS and SNS (see # Wire format). A topic given to [NewSender] is recognised through
// its As; nothing can tell there that a package is missing.
//
// # In process: inproc:// rather than mem://
//
// Use inproc:// for unit tests and single-process runs. mem:// is gocloud's mempubsub, kept
// unchanged so that existing URLs work, with two traps: it polls an empty subscription every
// 250 ms, so every in-memory round trip waits up to that long, and it drops a message sent while
// its topic has no subscription, so with mem:// the subscription must be opened right after the
// topic and before anything is sent. inproc:// (package channel/inprocpubsub) wakes a receive
// on the send itself and keeps what was sent before the subscription was opened. Through the
// whole pipeline (BENCHMARKS.md, one machine, one run): webhook-to-sink p50 0.35 ms and p99
// 2.6 ms at 2,000 events/s against 130 ms and 257 ms on mem://, and a test that posts one event
// and waits for it in the sink takes 1.7 ms against 249 ms, so a suite of 100 such tests runs
// in 0.17 s instead of 25 s. At full load both carry the same rate.
//
// # Brokers
//
// A broker package registers what package channel needs to know about its broker beyond the
// gocloud driver with [RegisterBroker]. Package channel knows a broker only through its
// [Broker]: the URL schemes it serves, its messaging.system and delivery count attribute in the
// OpenTelemetry conventions, the most metadata entries a message can carry, and whether it lives
// in the process only ([IsInProcess]); and, each optional, how it recognises topics opened
// without a URL, maps the broker-native [SenderOptions] (Deduplicate, OrderBySubject) onto its
// messages, adapts every message sent (RabbitMQ: persistent, the event id as message id), and
// reads its delivery counts for [DeliveryCount]. Package channel registers the brokers of mem://
// and inproc:// itself; [Brokers] lists the registered ones. Which package to import for a
// scheme whose package is not linked is the one fact no Broker can give, since none is
// registered then: for that alone package channel keeps a list of this module's broker packages
// (and of gocloud's kafkapubsub and natspubsub), so that its errors name them. A new broker plugs
// in the same way: a gocloud driver registered on pubsub.DefaultURLMux, a Broker, and a run of
// the conformance suite (package channel/channeltest) next to the driver.
//
// # Wire format
//
// Each message body is one event as a CloudEvents 1.0 JSON document (see [Encode]); the message
// metadata carries "content-type" and copies of the id, type and subject as "ce_id", "ce_type" and
// "ce_subject", so brokers can filter and route without reading the body. A traced send adds the
// trace context as "traceparent" and "tracestate" (the CloudEvents distributed-tracing extension)
// both to the metadata and to the body, where they are extension attributes like any other
// Metadata entry, so older consumers read such messages unchanged. On a broker that limits the
// metadata entries of a message (Broker.MaxMetadata, as SQS and SNS do), tracestate is in the
// body only, so that a dead-lettered message stays within the limit.
//
// # Observability
//
// Sends and deliveries are traced with OpenTelemetry, through the TracerProvider field of
// [SenderOptions], [ConsumerOptions] and [ProcessorOptions], or else the global provider; the
// package never installs an exporter. Spans follow the messaging semantic conventions:
//
//   - [Sender.Send]: a PRODUCER span "send <destination>", the destination being the topic or
//     queue name from the URL ("send stripe-events"; for a [NewSender] topic, the broker's
//     registered name, or just "send"). Its context is injected into the message as above, so
//     the trace continues across the broker; the emitter's server span is its parent.
//   - [Consumer] and [Processor]: a CONSUMER span "process <destination>" per delivery (a
//     Processor takes the destination and messaging.system from ProcessorOptions.Subscription,
//     else it is just "process"), the child of the send's context when the
//     message carries one (from the body, else from the metadata) and also linked to it, so each
//     redelivery of one send is a further process span linked to the same send. Each handler
//     call is an INTERNAL child span "handle" with hookline.attempt (1, 2, ...). Dead-lettering
//     adds the event "dead-lettered" with hookline.dead_letter.reason and hookline.dead_letter.kind.
//   - A batch consumer ([NewBatchConsumer]) has the same process span per delivery. Each call
//     of its handler is one INTERNAL span "handle" with hookline.attempt and
//     messaging.batch.message_count, linked to the process span of every event it carries (a
//     root of its own, or for a batch of one event that event's child), and each of those
//     process spans gets the event "handled in batch" with the handle span's
//     hookline.batch.trace_id and hookline.batch.span_id and the event's own hookline.outcome:
//     from any event's trace, the batch that wrote it is one lookup away.
//
// Attributes: messaging.system (the System of the endpoint's [Broker], such as aws_sqs; none
// where the conventions name none, as for mem:// and inproc://, nor for a scheme whose package
// is not linked), messaging.destination.name, messaging.operation.type and
// messaging.operation.name ("send" or "process"), messaging.message.id (the event id), the
// broker's delivery count when it reports one (under the Broker's DeliveryCountAttribute, such
// as messaging.servicebus.message.delivery_count, else hookline.message.delivery_count), and
// error.type: on a failed send or handler call the error's hookline code ("transient",
// "permanent", ...) or context.DeadlineExceeded, on a delivery returned to the broker its last
// failure's, on one dead-lettered (or that could not be) the kind: "permanent", "undecodable" or
// "max-deliveries". gocloud's own span of each broker send is a child of the send span.
//
// Metrics go to the MeterProvider field of the same options, or else the global provider.
// Every attribute value comes from a small fixed set (never an event id):
//
//   - messaging.client.sent.messages and messaging.client.operation.duration (seconds), per
//     send, dead-letter sends included (their destination is the dead-letter channel's);
//   - messaging.client.consumed.messages, per delivery, and messaging.process.duration
//     (seconds), with error.type as on the process span when the delivery did not succeed;
//   - hookline.events, per event outcome, with hookline.outcome: "stored", "ignored" (the handler
//     called [ReportIgnored]: the sink already held this event or a newer one), "retried" (per
//     handler call tried again within a delivery), "returned" (given back to the broker, to come
//     again) or "dead_lettered"; error.type as above for the last three; hookline.sink from
//     ConsumerOptions.Sink;
//   - hookline.event.lag (seconds), from the event's time (Stripe's created) to its write, per
//     stored event, with hookline.sink.
//
// They carry messaging.system and messaging.destination.name as the spans do. Every log record
// about an event carries event_id, event_type, event_subject, trace_id and span_id.
//
// # Delivery semantics
//
// Delivery is at least once. [Consumer] acknowledges a message exactly once and only after the
// handler succeeded or the message was dead-lettered; a transient failure is retried with
// exponential backoff and jitter, then returned to the broker (nack where the driver can, otherwise
// left to its visibility timeout). Sinks must therefore be idempotent (see package sink). A
// message delivered more than ConsumerOptions.MaxDeliveries times is dead-lettered: the count is
// the broker's where its package reports one ([DeliveryCount]), else the consumer's own count
// within the process. Where a runtime pushes messages instead (a function trigger), a
// [Processor] applies the same rules.
//
// A batch consumer ([NewBatchConsumer]) hands its [BatchHandler] what it has received together,
// up to ConsumerOptions.MaxBatch events (default [DefaultMaxBatch]), waiting at most BatchWait
// (default [DefaultBatchWait]) after the first one for more, and keeps every rule above per
// message: each event has its own result, attempts, verdict and acknowledgement, so one failing
// event fails neither the others nor their acknowledgement. It works on every broker: a batch
// is only what the consumer holds at once, not a feature of the broker. A sink that writes
// batches (sink.BatchApplier) is consumed this way by package pipeline.
//
// A [Sender] or [Receiver] opened from a URL reopens its topic or subscription after a failure,
// so a broker that restarts or drops the connection is used again once it is back, without
// restarting the process. A sender tries at most once per [SenderOptions].ReconnectInterval
// (default 1s), and sends in between fail at once, so a webhook answers 503 (and Stripe retries)
// while the broker is away; a receiver waits between attempts. Errors that reopening cannot fix
// (a missing queue, access denied) are not retried. Health on either tells a readiness probe the
// state. Messages in flight during a restart may be delivered again; the sinks absorb that.
// Shut a receiver down after its consumer returned: gocloud batches acknowledgements and only
// Shutdown flushes them.
//
// # Errors
//
// Errors start with "channel:" and name the URL with any password redacted. Send errors keep
// gocloud's code (gcerrors.Code) in their chain; the emitter answers them with 503 so the source
// retries. A message the broker's package refuses to send (say, an id a FIFO queue cannot take)
// fails as permanent (hookline.Code).
//
// # Security
//
// URLs and errors quoted from drivers are shown with passwords and token-like query values
// masked. Credentials belong in the environment the broker's package reads (its doc says which),
// not in URLs.
package channel

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/mempubsub" // mem:// is always available

	"github.com/hookline/hookline"
	_ "github.com/hookline/hookline/channel/inprocpubsub" // inproc:// is always available
	"github.com/hookline/hookline/internal/redact"
)

// Sender sends events to a topic. It is safe for concurrent use.
//
// A Sender opened from a URL heals itself: after a failed send it reopens the topic from the URL
// (at most once per [SenderOptions].ReconnectInterval; sends in between fail at once), so a broker that
// restarts or drops its connection is used again when it is back, without restarting the
// process. Until then every send fails, and the webhook answers 503.
type Sender struct {
	link     link[*pubsub.Topic]
	broker   *Broker // the registered broker that claims the topic, or nil
	opts     SenderOptions
	features bool // opts asks for broker-native features and broker has Prepare
	trace    tracing
	meters   *meters
}

// OpenSender opens the topic at urlstr. A nil opts means the defaults: no broker-native features
// and reopening at most once per [DefaultReconnectInterval]. The registered [Broker] that claims
// the topic, if any, adapts every message sent. OpenSender fails when opts asks for a
// broker-native feature and no registered broker claims the topic, and for a rabbit://,
// awssqs:// or awssns:// URL without the package that supports the broker (see the package doc,
// # URLs): import it.
func OpenSender(ctx context.Context, urlstr string, opts *SenderOptions) (*Sender, error) {
	var o SenderOptions
	if opts != nil {
		o = *opts
	}
	t, err := openTopic(ctx, urlstr)
	if err != nil {
		return nil, err
	}
	s := &Sender{}
	if err := s.useBroker(t, urlstr, o); err != nil {
		t.Shutdown(ctx)
		return nil, fmt.Errorf("channel: open sender %s: %w", redact.String(urlstr), err)
	}
	s.trace = newTracing(o.TracerProvider, urlstr, s.broker)
	s.meters = newMeters(o.MeterProvider, s.trace, "")
	s.link.init(t, urlstr, openTopic, shutdownTopic(urlstr), o.ReconnectInterval)
	return s, nil
}

func openTopic(ctx context.Context, urlstr string) (*pubsub.Topic, error) {
	t, err := pubsub.OpenTopic(ctx, urlstr)
	if err != nil {
		return nil, fmt.Errorf("channel: open sender %s: %w%s", redact.String(urlstr), scrub(err, urlstr), driverHint(urlstr, err))
	}
	return t, nil
}

// NewSender wraps a topic opened by other means (for example a driver's constructor). It cannot
// reopen the topic after a failure. The registered [Broker] that recognises t through t.As, if
// any, adapts every message sent, as for [OpenSender]; NewSender cannot tell that a broker's
// package is missing. In particular, a topic of gocloud's rabbitpubsub sends transient messages
// unless package channel/rabbitmq is imported.
func NewSender(t *pubsub.Topic) *Sender {
	s := &Sender{broker: brokerFor(t, "")}
	s.trace = newTracing(nil, "", s.broker)
	s.meters = newMeters(nil, s.trace, "")
	s.link.init(t, "", nil, (*pubsub.Topic).Shutdown, 0)
	return s
}

// Send encodes ev and sends it. A nil error means the broker accepted the message. If ctx ends
// first, Send returns its error, and the message may or may not have been sent.
//
// Send runs in a PRODUCER span "send <destination>" whose trace context the message carries as
// "traceparent" and "tracestate", in its metadata and in its CloudEvents body (see the package
// doc, # Observability).
func (s *Sender) Send(ctx context.Context, ev hookline.Event) error {
	ctx, span := s.trace.startSend(ctx, ev.ID)
	err := s.sendEvent(ctx, ev)
	endSpan(span, err)
	return err
}

func (s *Sender) sendEvent(ctx context.Context, ev hookline.Event) error {
	md := map[string]string{"content-type": ContentType, "ce_id": ev.ID, "ce_type": ev.Type}
	ev = s.trace.inject(ctx, md, ev)
	body, err := Encode(ev)
	if err != nil {
		return hookline.MarkPermanent(err)
	}
	if ev.Subject != "" {
		md["ce_subject"] = ev.Subject
	}
	m := &pubsub.Message{Body: body, Metadata: md}
	if err := s.adapt(m, func() hookline.Event { return ev }); err != nil {
		return err
	}
	return s.send(ctx, m)
}

// SendMessage sends an already encoded message, as the consumer does when it dead-letters one.
// The sender's broker adapts it as it does for Send (for RabbitMQ: persistent, with the "ce_id"
// metadata as message id), on a copy, so m itself is not changed; m's BeforeSend, if any, runs
// after the broker's and may override it. The broker features of [OpenSender] apply too, taking
// the event's id and subject from the "ce_id" and "ce_subject" metadata (a message without them,
// such as an undecodable one, is identified by a hash of its body), so a FIFO or session-enabled
// dead-letter channel accepts dead-lettered messages.
func (s *Sender) SendMessage(ctx context.Context, m *pubsub.Message) error {
	if s.broker != nil {
		m = &pubsub.Message{Body: m.Body, Metadata: maps.Clone(m.Metadata), BeforeSend: m.BeforeSend, AfterSend: m.AfterSend}
		if err := s.adapt(m, func() hookline.Event { return forwardedEvent(m) }); err != nil {
			return err
		}
	}
	return s.send(ctx, m)
}

// send sends m and records the send's metrics.
func (s *Sender) send(ctx context.Context, m *pubsub.Message) error {
	start := time.Now()
	err := s.sendOnce(ctx, m)
	s.meters.recordSend(ctx, time.Since(start), err)
	return err
}

func (s *Sender) sendOnce(ctx context.Context, m *pubsub.Message) error {
	t, err := s.link.get(ctx)
	if err != nil {
		return hookline.MarkTransient(fmt.Errorf("channel: send to %s: %w", s.link.url, err))
	}
	if err := t.Send(ctx, m); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		s.link.broke(t)
		return hookline.MarkTransient(fmt.Errorf("channel: send to %s: %w", s.link.url, err))
	}
	return nil
}

// Health returns nil while the sender works as far as its last send showed, and otherwise an
// error that says why not; a readiness probe reports it. After a failure it tries to reopen the
// topic itself (at most once per [SenderOptions].ReconnectInterval, for at most 2 s), so a probe alone brings
// an idle sender back once the broker is: traffic need not come first.
func (s *Sender) Health() error {
	if s.link.health() != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.link.get(ctx)
	}
	if err := s.link.health(); err != nil {
		return fmt.Errorf("channel: sender %s: %w", s.link.url, err)
	}
	return nil
}

// Topic returns the current underlying gocloud topic, for driver-specific access through As.
func (s *Sender) Topic() *pubsub.Topic { return s.link.current() }

// Shutdown flushes pending sends and closes the topic for good. A mem:// topic is left open:
// gocloud keeps in-memory topics by name for the life of the process and would hand the closed
// one to the next sender of the same URL (a second test, a second pipeline); its sends complete
// before Send returns, so there is nothing to flush.
func (s *Sender) Shutdown(ctx context.Context) error { return s.link.shutdown(ctx) }

// shutdownTopic returns how a Sender opened from urlstr closes its topic.
func shutdownTopic(urlstr string) func(*pubsub.Topic, context.Context) error {
	if strings.HasPrefix(strings.ToLower(urlstr), "mem://") {
		return func(*pubsub.Topic, context.Context) error { return nil }
	}
	return (*pubsub.Topic).Shutdown
}

// Receiver receives messages from a subscription. Use it with a [Consumer].
//
// A Receiver opened from a URL heals itself like a [Sender]: when the subscription fails (the
// broker restarted, the connection dropped), Receive reopens it from the URL, waiting between
// attempts, until it works again or ctx ends. Messages received before the failure may then be
// delivered again: sinks absorb that.
type Receiver struct {
	link link[*pubsub.Subscription]
}

// ReceiverOptions configures [OpenReceiver]. A nil *ReceiverOptions and zero fields mean the
// documented defaults.
type ReceiverOptions struct {
	// ReconnectInterval is the least time between two attempts to reopen a failed subscription;
	// the pauses grow from it up to 30s while the broker stays away. Default
	// [DefaultReconnectInterval].
	ReconnectInterval time.Duration
}

// OpenReceiver opens the subscription at urlstr. A nil opts means the defaults.
func OpenReceiver(ctx context.Context, urlstr string, opts *ReceiverOptions) (*Receiver, error) {
	var o ReceiverOptions
	if opts != nil {
		o = *opts
	}
	sub, err := openSubscription(ctx, urlstr)
	if err != nil {
		return nil, err
	}
	r := &Receiver{}
	r.link.init(sub, urlstr, openSubscription, (*pubsub.Subscription).Shutdown, o.ReconnectInterval)
	return r, nil
}

func openSubscription(ctx context.Context, urlstr string) (*pubsub.Subscription, error) {
	sub, err := pubsub.OpenSubscription(ctx, urlstr)
	if err != nil {
		return nil, fmt.Errorf("channel: open receiver %s: %w%s", redact.String(urlstr), scrub(err, urlstr), driverHint(urlstr, err))
	}
	return sub, nil
}

// NewReceiver wraps a subscription opened by other means. It cannot reopen the subscription
// after a failure.
func NewReceiver(s *pubsub.Subscription) *Receiver {
	r := &Receiver{}
	r.link.init(s, "", nil, (*pubsub.Subscription).Shutdown, 0)
	return r
}

// Receive returns the next message; the caller must Ack it, or Nack it where msg.Nackable(). It
// returns ctx's error unwrapped when ctx ends first. Most programs use a [Consumer] instead.
func (r *Receiver) Receive(ctx context.Context) (*pubsub.Message, error) {
	for {
		sub, err := r.link.wait(ctx)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, fmt.Errorf("channel: receive from %s: %w", r.link.url, err)
		}
		m, err := sub.Receive(ctx)
		if err == nil {
			return m, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if permanentBrokerError(err) || !r.link.broke(sub) {
			return nil, fmt.Errorf("channel: receive from %s: %w", r.link.url, err)
		}
		r.link.logf("hookline: receive from %s failed, reopening: %v", r.link.url, err)
	}
}

// Health returns nil while the receiver's subscription works as far as its last receive showed,
// and otherwise an error that says why not. A receiver in use by a [Consumer] receives all the
// time, so a broker that goes away shows here within moments.
func (r *Receiver) Health() error {
	if err := r.link.health(); err != nil {
		return fmt.Errorf("channel: receiver %s: %w", r.link.url, err)
	}
	return nil
}

// Subscription returns the current underlying gocloud subscription, for driver-specific access
// through As.
func (r *Receiver) Subscription() *pubsub.Subscription { return r.link.current() }

// Shutdown flushes pending acks and closes the subscription for good. Call it after the
// consumer's Run returned: until then, processed messages may not have been acknowledged to the
// broker.
func (r *Receiver) Shutdown(ctx context.Context) error { return r.link.shutdown(ctx) }

// permanentBrokerError reports whether err says something reopening cannot fix: the entity does
// not exist, access is denied, or the request is invalid.
func permanentBrokerError(err error) bool {
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.PermissionDenied, gcerrors.InvalidArgument, gcerrors.Unimplemented:
		return true
	}
	return false
}

// scrub hides the secrets of urlstr (password, token-like query values) in err's text: drivers
// quote the URL they were given. The result still unwraps to err.
func scrub(err error, urlstr string) error {
	u, perr := url.Parse(urlstr)
	if perr != nil {
		return err
	}
	return redact.Error(err, redact.Secrets(u))
}
