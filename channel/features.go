package channel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

// SenderOptions configures [OpenSender]. A nil *SenderOptions and zero fields mean the documented
// defaults. The broker-native features (Deduplicate, OrderBySubject) are off by default: each
// changes what the broker does with messages and needs the broker entity set up for it. They
// need the package that supports the broker (its registered [Broker]); each broker package's
// doc says what they become there.
type SenderOptions struct {
	// Deduplicate uses the event id as the id the broker deduplicates by, so a webhook retried
	// by Stripe is stored once by the broker itself: Service Bus MessageID (on an entity with
	// duplicate detection enabled), SQS FIFO MessageDeduplicationId. Brokers without
	// deduplication ignore it; the sinks are idempotent either way.
	Deduplicate bool
	// OrderBySubject uses the event's subject (the Stripe object id) as the key the broker
	// orders by, so events about one object are delivered in the order they were sent: SQS FIFO
	// MessageGroupId, Pub/Sub ordering key (enable message ordering on the subscription and the
	// topic's publisher), Service Bus session id (on a session-enabled entity). Brokers without
	// ordering ignore it.
	OrderBySubject bool
	// ReconnectInterval is the least time between two attempts to reopen a failed topic; sends
	// in between fail at once, so a webhook answers 503 quickly while the broker is away.
	// Default [DefaultReconnectInterval].
	ReconnectInterval time.Duration
	// TracerProvider gives the tracer of the send spans (see the package doc, # Observability).
	// Default: the global provider, otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider gives the meter of the send metrics (see the package doc, # Observability).
	// Default: the global provider, otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

// useBroker finds the registered broker that claims t, opened from urlstr, and checks that it
// can do what o asks.
func (s *Sender) useBroker(t *pubsub.Topic, urlstr string, o SenderOptions) error {
	scheme := schemeOf(urlstr)
	b := brokerFor(t, scheme)
	if err := checkBroker(b, scheme); err != nil {
		return err
	}
	features := o.Deduplicate || o.OrderBySubject
	if features && b == nil {
		return fmt.Errorf("no broker features registered for %q; "+
			"Deduplicate and OrderBySubject need the package that supports the broker", scheme)
	}
	s.broker, s.opts = b, o
	s.features = features && b.Prepare != nil
	return nil
}

// adapt applies the sender's broker to m, which carries ev: Prepare when the sender's options
// ask for features, then OnSend.
func (s *Sender) adapt(m *pubsub.Message, ev func() hookline.Event) error {
	if s.broker == nil {
		return nil
	}
	if s.features {
		if err := s.broker.Prepare(ev(), s.opts, m); err != nil {
			return hookline.MarkPermanent(fmt.Errorf("channel: %s: %w", s.broker.Name, err))
		}
	}
	if s.broker.OnSend != nil {
		if err := s.broker.OnSend(m); err != nil {
			return hookline.MarkPermanent(fmt.Errorf("channel: %s: %w", s.broker.Name, err))
		}
	}
	return nil
}

// forwardedEvent identifies an already encoded message for Prepare: id, subject and type from
// its "ce_id", "ce_subject" and "ce_type" metadata, or, for a message without an id (an
// undecodable one), a hash of its body as id.
func forwardedEvent(m *pubsub.Message) hookline.Event {
	ev := hookline.Event{ID: m.Metadata["ce_id"], Subject: m.Metadata["ce_subject"], Type: m.Metadata["ce_type"]}
	if ev.ID == "" {
		sum := sha256.Sum256(m.Body)
		ev.ID = "sha256-" + hex.EncodeToString(sum[:16])
	}
	return ev
}

// schemeOf returns the scheme of urlstr in lower case, as url.Parse and so gocloud's URL mux
// read it.
func schemeOf(urlstr string) string {
	scheme, _, found := strings.Cut(urlstr, ":")
	if !found {
		return ""
	}
	return strings.ToLower(scheme)
}
