package channel

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline"
)

// SenderOptions configures [OpenSender]. A nil *SenderOptions and zero fields mean the documented
// defaults. The broker-native features (Deduplicate, OrderBySubject) are off by default: each
// changes what the broker does with messages and needs the broker entity set up for it.
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
}

// Features adapts a [Sender] to one broker's native features. A package that supports a broker
// registers one with [RegisterFeatures] from its init function.
type Features struct {
	// Name names the broker in errors, e.g. "awssqs".
	Name string
	// Detect reports whether t is a topic of this broker (usually through t.As) or of this URL
	// scheme (urlScheme is "" for topics opened by other means than a URL).
	Detect func(t *pubsub.Topic, urlScheme string) bool
	// Prepare sets m up for ev according to opts, through m.Metadata or m.BeforeSend (keeping
	// any BeforeSend already set). It is called for every Send with options in effect.
	Prepare func(ev hookline.Event, opts SenderOptions, m *pubsub.Message) error
}

var featureRegistry struct {
	sync.Mutex
	list []Features
}

// RegisterFeatures adds f to the brokers whose native features Senders use. It panics if f has
// no Detect or Prepare.
func RegisterFeatures(f Features) {
	if f.Detect == nil || f.Prepare == nil {
		panic("channel: RegisterFeatures needs Detect and Prepare")
	}
	featureRegistry.Lock()
	defer featureRegistry.Unlock()
	featureRegistry.list = append(featureRegistry.list, f)
}

func featuresFor(t *pubsub.Topic, scheme string) *Features {
	featureRegistry.Lock()
	defer featureRegistry.Unlock()
	for i := range featureRegistry.list {
		if featureRegistry.list[i].Detect(t, scheme) {
			f := featureRegistry.list[i]
			return &f
		}
	}
	return nil
}

// useFeatures turns on the broker-native features o asks for, shutting s down when no
// registered [Features] knows the broker.
func (s *Sender) useFeatures(ctx context.Context, urlstr string, o SenderOptions) error {
	if !o.Deduplicate && !o.OrderBySubject {
		return nil
	}
	scheme := schemeOf(urlstr)
	f := featuresFor(s.Topic(), scheme)
	if f == nil {
		s.Shutdown(ctx)
		return fmt.Errorf("channel: open sender %s: no broker features registered for %q; "+
			"Deduplicate and OrderBySubject need the package that supports the broker", s.link.url, scheme)
	}
	s.opts, s.features = o, f
	return nil
}

// prepare applies the sender's broker features to m for ev.
func (s *Sender) prepare(ev hookline.Event, m *pubsub.Message) error {
	if s.features == nil {
		return nil
	}
	if err := s.features.Prepare(ev, s.opts, m); err != nil {
		return hookline.MarkPermanent(fmt.Errorf("channel: %s: %w", s.features.Name, err))
	}
	return nil
}

func schemeOf(urlstr string) string {
	for i := 0; i < len(urlstr); i++ {
		if urlstr[i] == ':' {
			return urlstr[:i]
		}
	}
	return ""
}
