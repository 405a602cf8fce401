package dataverse

import (
	"context"
	"slices"
	"sync"
	"time"
)

// limiter bounds the requests in flight. Its limit starts at max, is halved when Dataverse
// throttles (at most once per second, so one burst of 429s counts once) and grows back by about
// one for every limit successful requests (additive increase, multiplicative decrease).
type limiter struct {
	mu       sync.Mutex
	max      int
	limit    float64
	inFlight int
	waiters  []chan struct{}
	lastCut  time.Time
	now      func() time.Time
}

func newLimiter(max int, now func() time.Time) *limiter {
	return &limiter{max: max, limit: float64(max), now: now}
}

// acquire waits for a slot or for ctx to end.
func (l *limiter) acquire(ctx context.Context) error {
	l.mu.Lock()
	if l.inFlight < int(l.limit) && len(l.waiters) == 0 {
		l.inFlight++
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		i := slices.Index(l.waiters, ch)
		if i >= 0 {
			l.waiters = slices.Delete(l.waiters, i, i+1)
		}
		l.mu.Unlock()
		if i < 0 { // granted meanwhile: give the slot back
			l.release()
		}
		return ctx.Err()
	}
}

// release frees a slot and hands free slots to waiters.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	l.grant()
}

// grant hands free slots to waiters in arrival order; l.mu is held.
func (l *limiter) grant() {
	for len(l.waiters) > 0 && l.inFlight < int(l.limit) {
		ch := l.waiters[0]
		l.waiters = l.waiters[1:]
		l.inFlight++
		close(ch)
	}
}

// throttled halves the limit, at most once a second.
func (l *limiter) throttled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastCut) < time.Second {
		return
	}
	l.lastCut = now
	l.limit = max(1, l.limit/2)
}

// succeeded lets the limit creep back towards max.
func (l *limiter) succeeded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit >= float64(l.max) {
		return
	}
	l.limit = min(float64(l.max), l.limit+1/l.limit)
	l.grant()
}

// current returns the limit in force.
func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}
