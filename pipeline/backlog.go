package pipeline

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

// Backlog bounds the events an in-process channel holds and tells when they are all processed.
// gocloud's mem:// queues without limit, so under a load the consumer cannot keep up with, memory
// would grow until the process dies; with a Backlog a send waits for room within its budget and
// the webhook answers 503, which Stripe retries. And since a mem:// message dies with the
// process, shutdown must wait until every accepted event was processed: [Backlog.Wait].
//
// [Open] uses one for every in-process channel, mem:// or inproc:// (Config.MaxPending). A program that wires the parts
// itself uses it like this:
//
//	backlog := pipeline.NewBacklog(10000)
//	consumer, _ := channel.NewConsumer(receiver, sink.Write, &channel.ConsumerOptions{OnAck: backlog.Release})
//	webhook, _ := stripehook.NewHandler(secrets, backlog.Guard(sender), nil, nil)
//	srv, _ := httpserver.New(webhook, httpserver.Pipeline{Sender: sender, Consumer: consumer, Settle: backlog.Wait}, nil)
type Backlog struct {
	slots chan struct{}

	// Wait's wake-up: empty is closed by the Release that leaves no event pending, while
	// watched says a Wait may be waiting (so that Release takes mu only then).
	watched atomic.Bool
	mu      sync.Mutex
	empty   chan struct{}
}

// NewBacklog returns a Backlog of at most n events (n < 1 means 1).
func NewBacklog(n int) *Backlog { return &Backlog{slots: make(chan struct{}, max(n, 1))} }

// Guard returns a Sender that takes a slot before each send, waiting for one until ctx ends, and
// gives it back if the send fails.
func (b *Backlog) Guard(s emitter.Sender) emitter.Sender { return guarded{b, s} }

type guarded struct {
	b *Backlog
	s emitter.Sender
}

func (g guarded) Send(ctx context.Context, ev hookline.Event) error {
	select {
	case g.b.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := g.s.Send(ctx, ev); err != nil {
		g.b.Release()
		return err
	}
	return nil
}

// Release frees the slot of one settled event: set it as the consumer's ConsumerOptions.OnAck,
// which is called once per message acknowledged (processed, or dead-lettered).
func (b *Backlog) Release() {
	select {
	case <-b.slots:
	default:
	}
	if len(b.slots) == 0 && b.watched.Load() {
		b.mu.Lock()
		if b.empty != nil {
			close(b.empty)
			b.empty = nil
			b.watched.Store(false)
		}
		b.mu.Unlock()
	}
}

// Len returns the number of events accepted and not yet settled.
func (b *Backlog) Len() int { return len(b.slots) }

// Wait returns nil once no accepted event is left unsettled, or ctx's error: an
// httpserver.Pipeline's Settle. It is woken by the Release that settles the last event, with no
// polling, so a shutdown waits no longer than the events themselves take.
func (b *Backlog) Wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		if b.empty == nil {
			b.empty = make(chan struct{})
			b.watched.Store(true)
		}
		wake := b.empty
		b.mu.Unlock()
		if b.Len() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}
