package localapp

import (
	"context"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

// pending bounds the events an in-process channel holds. mempubsub queues without limit, so under
// a load the consumer cannot keep up with, memory would grow until the process dies; instead a
// send waits for room within its budget and the webhook answers 503, which Stripe retries.
type pending struct {
	slots chan struct{}
}

func newPending(n int) *pending { return &pending{slots: make(chan struct{}, n)} }

// guard returns a Sender that takes a slot before each send and gives it back if the send fails.
func (p *pending) guard(s emitter.Sender) emitter.Sender { return guarded{p, s} }

type guarded struct {
	p *pending
	s emitter.Sender
}

func (g guarded) Send(ctx context.Context, ev hookline.Event) error {
	select {
	case g.p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := g.s.Send(ctx, ev); err != nil {
		g.p.release()
		return err
	}
	return nil
}

// release frees the slot of one settled (acknowledged) event.
func (p *pending) release() {
	select {
	case <-p.slots:
	default:
	}
}

func (p *pending) count() int { return len(p.slots) }

// wait returns when no accepted event is left unprocessed, or ctx's error.
func (p *pending) wait(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for p.count() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
