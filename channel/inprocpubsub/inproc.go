package inprocpubsub

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"strconv"
	"sync"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/driver"
)

// Scheme is the URL scheme this package registers on pubsub.DefaultURLMux.
const Scheme = "inproc"

// Defaults for the query parameters (see the package doc, # URLs).
const (
	DefaultAckDeadline = time.Minute
	DefaultMaxBacklog  = 10_000
)

func init() {
	o := new(URLOpener)
	pubsub.DefaultURLMux().RegisterTopic(Scheme, o)
	pubsub.DefaultURLMux().RegisterSubscription(Scheme, o)
}

// Options are the settings of [OpenTopic] and [OpenSubscription]; nil and zero fields mean the
// defaults. They are what the URL's query parameters set.
type Options struct {
	// Subscription names the subscription OpenSubscription opens; "" is the default one.
	Subscription string
	// AckDeadline: see ackdeadline. Zero means DefaultAckDeadline.
	AckDeadline time.Duration
	// MaxBacklog: see maxbacklog. Zero leaves a subscription's bound as it is (DefaultMaxBacklog
	// when it is created).
	MaxBacklog int
}

// URLOpener opens inproc:// URLs. Its zero value is ready to use; it is registered on
// pubsub.DefaultURLMux for [Scheme].
type URLOpener struct{}

// OpenTopicURL opens the topic named by u (see the package doc, # URLs).
func (*URLOpener) OpenTopicURL(_ context.Context, u *url.URL) (*pubsub.Topic, error) {
	name, o, err := parseURL(u)
	if err != nil {
		return nil, &codedError{gcerrors.InvalidArgument, fmt.Sprintf("inprocpubsub: open topic %s: %v", u.Redacted(), err)}
	}
	return OpenTopic(name, &o)
}

// OpenSubscriptionURL opens the subscription named by u (see the package doc, # URLs).
func (*URLOpener) OpenSubscriptionURL(_ context.Context, u *url.URL) (*pubsub.Subscription, error) {
	name, o, err := parseURL(u)
	if err != nil {
		return nil, &codedError{gcerrors.InvalidArgument, fmt.Sprintf("inprocpubsub: open subscription %s: %v", u.Redacted(), err)}
	}
	return OpenSubscription(name, &o)
}

// parseURL reads the topic name and the options from u.
func parseURL(u *url.URL) (string, Options, error) {
	var o Options
	name := path.Join(u.Host, u.Path)
	if name == "" || name == "." || name == "/" {
		return "", o, errors.New("the URL names no topic (want inproc://name)")
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "subscription":
			if v == "" {
				return "", o, errors.New(`query parameter "subscription" is empty`)
			}
			o.Subscription = v
		case "ackdeadline":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return "", o, fmt.Errorf("query parameter \"ackdeadline\": %q is not a duration greater than zero", v)
			}
			o.AckDeadline = d
		case "maxbacklog":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return "", o, fmt.Errorf("query parameter \"maxbacklog\": %q is not an integer greater than zero", v)
			}
			o.MaxBacklog = n
		default:
			return "", o, fmt.Errorf("unknown query parameter %q (known: subscription, ackdeadline, maxbacklog)", k)
		}
	}
	return name, o, nil
}

// OpenTopic opens the topic called name, creating it (and its default subscription) if needed.
// opts.Subscription and opts.AckDeadline are ignored; opts.MaxBacklog, when set, bounds every
// subscription the topic has and the default one, should it be created now.
func OpenTopic(name string, opts *Options) (*pubsub.Topic, error) {
	if name == "" {
		return nil, fmt.Errorf("inprocpubsub: open topic: %w", errNoName)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxBacklog < 0 {
		return nil, &codedError{gcerrors.InvalidArgument, "inprocpubsub: open topic " + name + ": negative MaxBacklog"}
	}
	t := topicNamed(name, o.MaxBacklog)
	if o.MaxBacklog > 0 {
		t.mu.Lock()
		for _, s := range t.subs {
			s.maxBacklog = o.MaxBacklog
		}
		t.mu.Unlock()
	}
	return pubsub.NewTopic(&driverTopic{t: t}, nil), nil
}

// OpenSubscription opens a receiver on the subscription opts.Subscription ("" or nil opts:
// the default one) of the topic called name, creating either if needed.
func OpenSubscription(name string, opts *Options) (*pubsub.Subscription, error) {
	if name == "" {
		return nil, fmt.Errorf("inprocpubsub: open subscription: %w", errNoName)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.AckDeadline < 0 || o.MaxBacklog < 0 {
		return nil, &codedError{gcerrors.InvalidArgument, "inprocpubsub: open subscription " + name + ": negative AckDeadline or MaxBacklog"}
	}
	if o.AckDeadline == 0 {
		o.AckDeadline = DefaultAckDeadline
	}
	return pubsub.NewSubscription(openReceiver(name, o), nil, nil), nil
}

func openReceiver(name string, o Options) *receiver {
	t := topicNamed(name, o.MaxBacklog)
	s := t.openSub(o.Subscription, o.MaxBacklog)
	r := &receiver{sub: s, ackDeadline: o.AckDeadline}
	s.addReceiver(r)
	return r
}

var errNoName = &codedError{gcerrors.InvalidArgument, "no topic name"}

// codedError is every error of this package: a message and its gcerrors code.
type codedError struct {
	code gcerrors.ErrorCode
	msg  string
}

func (e *codedError) Error() string { return e.msg }

func errorCode(err error) gcerrors.ErrorCode {
	var c *codedError
	if errors.As(err, &c) {
		return c.code
	}
	return gcerrors.Unknown
}

// topics holds every topic of the process by name; they are never removed.
var (
	topicsMu sync.Mutex
	topics   = map[string]*topic{}
)

func topicNamed(name string, maxBacklog int) *topic {
	topicsMu.Lock()
	defer topicsMu.Unlock()
	t := topics[name]
	if t == nil {
		t = &topic{name: name, subs: map[string]*subscription{}}
		t.subs[""] = newSubscription(t, "", maxBacklog)
		topics[name] = t
	}
	return t
}

// topic is one named topic: its subscriptions and the sequence of its message ids. mu guards
// the topic and all its subscriptions' state.
type topic struct {
	name string

	mu    sync.Mutex
	subs  map[string]*subscription
	named int // how many named subscriptions exist
	seq   uint64
}

// openSub returns the subscription called name, creating it, and marks it opened.
func (t *topic) openSub(name string, maxBacklog int) *subscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.subs[name]
	if s == nil {
		s = newSubscription(t, name, maxBacklog)
		t.subs[name] = s
		t.named++
	} else if maxBacklog > 0 {
		s.maxBacklog = maxBacklog
	}
	s.opened = true
	return s
}

// collects reports whether s gets the messages sent now (t.mu held): a named subscription
// always; the default one unless a named one exists and it was never opened.
func (t *topic) collects(s *subscription) bool {
	return s.name != "" || s.opened || t.named == 0
}

// send delivers ms to every collecting subscription, or to none when one would overflow.
func (t *topic) send(ms []*driver.Message) error {
	entries := make([]*entry, len(ms))
	for i, m := range ms {
		var md map[string]string
		if len(m.Metadata) > 0 {
			md = maps.Clone(m.Metadata)
		}
		entries[i] = &entry{body: append([]byte(nil), m.Body...), metadata: md}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.subs {
		if t.collects(s) && s.held()+len(ms) > s.maxBacklog {
			return &codedError{gcerrors.ResourceExhausted, fmt.Sprintf(
				"inprocpubsub: send to %s: subscription %s holds %d messages, its maxbacklog is %d: "+
					"its consumer is behind or was never started", t.name, subName(s.name), s.held(), s.maxBacklog)}
		}
	}
	for _, e := range entries {
		t.seq++
		e.id = t.seq
	}
	first := true
	for _, s := range t.subs {
		if !t.collects(s) {
			continue
		}
		for _, e := range entries {
			if !first {
				c := *e
				e = &c
			}
			s.push(e)
		}
		first = false
		s.wake()
	}
	return nil
}

func subName(n string) string {
	if n == "" {
		return "(default)"
	}
	return strconv.Quote(n)
}

// TopicInfo describes an inproc topic: a pubsub.Topic's As fills one given a *TopicInfo.
type TopicInfo struct {
	Name string
}

// driverTopic is the driver.Topic of one pubsub.Topic.
type driverTopic struct {
	t *topic
}

var _ driver.Topic = (*driverTopic)(nil)

func noAs(any) bool { return false }

func (d *driverTopic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, m := range ms {
		if m.BeforeSend != nil {
			if err := m.BeforeSend(noAs); err != nil {
				return err
			}
		}
	}
	if err := d.t.send(ms); err != nil {
		return err
	}
	for _, m := range ms {
		if m.AfterSend != nil {
			if err := m.AfterSend(noAs); err != nil {
				return err
			}
		}
	}
	return nil
}

func (*driverTopic) IsRetryable(error) bool { return false }

func (d *driverTopic) As(i any) bool {
	if p, ok := i.(*TopicInfo); ok {
		*p = TopicInfo{Name: d.t.name}
		return true
	}
	return false
}

func (*driverTopic) ErrorAs(error, any) bool { return false }

func (*driverTopic) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

func (*driverTopic) Close() error { return nil }
