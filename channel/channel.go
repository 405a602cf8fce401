// Package channel carries events between an emitter and a sink over a message broker, opened from
// a gocloud.dev/pubsub URL.
//
// # URLs
//
// [OpenSender] takes a topic URL and [OpenReceiver] a subscription URL, exactly as
// gocloud.dev/pubsub's OpenTopic and OpenSubscription do. mem:// works out of the box; other
// brokers are enabled the gocloud way, by importing their driver for its side effect:
//
//	mem://stripe-events                            in-process (gocloud.dev/pubsub/mempubsub)
//	rabbitmq://exchange  /  rabbitmq://queue       RabbitMQ (channel/rabbitmq; RABBIT_SERVER_URL)
//	rabbit://exchange  /  rabbit://queue           RabbitMQ, gocloud's driver (gocloud.dev/pubsub/rabbitpubsub)
//	awssqs://sqs.us-east-2.amazonaws.com/123/q?region=us-east-2   SQS (channel/amazonsqs)
//	awssns:///arn:aws:sns:us-east-2:123:topic?region=us-east-2    SNS (channel/amazonsqs)
//	azuresbqueue://queue (send and receive)                        Service Bus queue (channel/azureservicebus)
//	azuresb://topic  /  azuresb://topic?subscription=name          Service Bus topic (channel/azureservicebus)
//	gcppubsub://projects/p/topics/t  /  gcppubsub://projects/p/subscriptions/s   (channel/googlepubsub)
//
// RabbitMQ needs its exchange, queue and binding declared first (package channel/rabbitsetup does
// it). Sends to a rabbit:// topic are published persistent (delivery mode 2), so a durable queue
// keeps them over a broker restart, with the event id as the AMQP message id.
//
// With mem://, the subscription must be opened right after the topic and before anything is sent:
// mempubsub drops a message sent while its topic has no subscription.
//
// # Wire format
//
// Each message body is one event as a CloudEvents 1.0 JSON document (see [Encode]); the message
// metadata carries "content-type" and copies of the id, type and subject as "ce_id", "ce_type" and
// "ce_subject", so brokers can filter and route without reading the body.
//
// # Delivery semantics
//
// Delivery is at least once. [Consumer] acknowledges a message exactly once and only after the
// handler succeeded or the message was dead-lettered; a transient failure is retried with
// exponential backoff and jitter, then returned to the broker (nack where the driver can, otherwise
// left to its visibility timeout). Sinks must therefore be idempotent (see package sink).
//
// # Errors
//
// Errors start with "channel:" and name the URL with any password redacted. Send errors keep
// gocloud's code (gcerrors.Code) in their chain; the emitter answers them with 503 so the source
// retries.
package channel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	_ "gocloud.dev/pubsub/mempubsub" // mem:// is always available

	"github.com/hookline/hookline"
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
	opts     SenderOptions
	features *Features // set by OpenSender
}

// OpenSender opens the topic at urlstr. A nil opts means the defaults: no broker-native features
// and reopening at most once per [DefaultReconnectInterval]. It fails when opts asks for a
// broker-native feature and no registered [Features] knows the broker (import the package that
// supports it).
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
	s.link.init(t, urlstr, openTopic, (*pubsub.Topic).Shutdown, o.ReconnectInterval)
	if err := s.useFeatures(ctx, urlstr, o); err != nil {
		return nil, err
	}
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
// reopen the topic after a failure.
func NewSender(t *pubsub.Topic) *Sender {
	s := &Sender{}
	s.link.init(t, "", nil, (*pubsub.Topic).Shutdown, 0)
	return s
}

// Send encodes ev and sends it. A nil error means the broker accepted the message. If ctx ends
// first, Send returns its error, and the message may or may not have been sent.
func (s *Sender) Send(ctx context.Context, ev hookline.Event) error {
	body, err := Encode(ev)
	if err != nil {
		return hookline.MarkPermanent(err)
	}
	md := map[string]string{"content-type": ContentType, "ce_id": ev.ID, "ce_type": ev.Type}
	if ev.Subject != "" {
		md["ce_subject"] = ev.Subject
	}
	m := &pubsub.Message{Body: body, Metadata: md}
	if err := s.prepare(ev, m); err != nil {
		return err
	}
	return s.send(ctx, m)
}

// SendMessage sends an already encoded message, as the consumer does when it dead-letters one.
// To a RabbitMQ topic it publishes a persistent message whose message id is the "ce_id" metadata
// (see package doc, # URLs); m's BeforeSend, if any, runs after that and may override it. The
// broker features of [OpenSender] apply as for Send, taking the event's id and
// subject from the "ce_id" and "ce_subject" metadata (a message without them, such as an
// undecodable one, is identified by a hash of its body), so a FIFO or session-enabled
// dead-letter channel accepts dead-lettered messages too.
func (s *Sender) SendMessage(ctx context.Context, m *pubsub.Message) error {
	if s.features != nil {
		ev := hookline.Event{ID: m.Metadata["ce_id"], Subject: m.Metadata["ce_subject"], Type: m.Metadata["ce_type"]}
		if ev.ID == "" { // not one of ours (an undecodable message): identify it by its content
			sum := sha256.Sum256(m.Body)
			ev.ID = "sha256-" + hex.EncodeToString(sum[:16])
		}
		if err := s.prepare(ev, m); err != nil {
			return err
		}
	}
	return s.send(ctx, m)
}

func (s *Sender) send(ctx context.Context, m *pubsub.Message) error {
	t, err := s.link.get(ctx)
	if err != nil {
		return hookline.MarkTransient(fmt.Errorf("channel: send to %s: %w", s.link.url, err))
	}
	if isRabbitTopic(t) {
		m = rabbitMessage(m)
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

// Shutdown flushes pending sends and closes the topic for good.
func (s *Sender) Shutdown(ctx context.Context) error { return s.link.shutdown(ctx) }

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

var driverPackages = map[string]string{
	"rabbit":       "gocloud.dev/pubsub/rabbitpubsub",
	"awssqs":       "github.com/hookline/hookline/channel/amazonsqs",
	"awssns":       "github.com/hookline/hookline/channel/amazonsqs",
	"azuresb":      "github.com/hookline/hookline/channel/azureservicebus",
	"azuresbqueue": "github.com/hookline/hookline/channel/azureservicebus",
	"gcppubsub":    "github.com/hookline/hookline/channel/googlepubsub",
	"kafka":        "gocloud.dev/pubsub/kafkapubsub",
	"nats":         "gocloud.dev/pubsub/natspubsub",
}

// driverHint tells which package to import when gocloud has no driver for the URL's scheme.
func driverHint(urlstr string, err error) string {
	if !strings.Contains(err.Error(), "no driver registered") {
		return ""
	}
	scheme, _, _ := strings.Cut(urlstr, "://")
	if pkg, ok := driverPackages[scheme]; ok {
		return fmt.Sprintf(` (import _ %q in your main package to enable %s://)`, pkg, scheme)
	}
	return " (supported schemes: mem, rabbit, awssqs, awssns, azuresb, gcppubsub)"
}
