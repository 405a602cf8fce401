package pipeline

import (
	"context"
	"errors"
	"testing"

	"github.com/hookline/hookline"
)

type nopSender struct{}

func (nopSender) Send(context.Context, hookline.Event) error { return nil }

// TestBacklogWaitWakesOnLastRelease checks that Wait returns exactly when the last pending event
// is released (it is woken, not polling), and with ctx's error when ctx ends first.
func TestBacklogWaitWakesOnLastRelease(t *testing.T) {
	b := NewBacklog(4)
	if err := b.Wait(t.Context()); err != nil {
		t.Fatalf("Wait with nothing pending: %v", err)
	}
	g := b.Guard(nopSender{})
	for range 3 {
		if err := g.Send(t.Context(), hookline.Event{}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- b.Wait(context.Background()) }()
	for pending := 3; pending > 0; pending-- {
		select {
		case err := <-done:
			t.Fatalf("Wait returned %v with %d events pending", err, pending)
		default:
		}
		b.Release()
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait after the last Release: %v", err)
	}

	// Waits after a wake-up still work, and a canceled context ends them.
	if err := g.Send(t.Context(), hookline.Event{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a canceled context and one event pending = %v", err)
	}
	go func() { done <- b.Wait(context.Background()) }()
	b.Release()
	if err := <-done; err != nil {
		t.Fatalf("second Wait: %v", err)
	}
}
