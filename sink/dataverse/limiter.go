package dataverse

import (
	"context"
	"slices"
	"sync"
	"time"
)

// limiter makes the sink's requests behave as one client of Dataverse's service protection:
//
//   - It bounds the requests in flight. The bound starts at one request until the first answer
//     has come, then is the smaller of max and the degree of parallelism Dataverse recommends
//     in its x-ms-dop-hint response header, and follows that header as it changes.
//   - Below that ceiling it is halved when Dataverse throttles (at most once per second, so
//     one burst of 429s counts once) and grows back by about one for every limit successful
//     requests (additive increase, multiplicative decrease).
//   - A 429's Retry-After pauses every request of the sink, not only the one that was refused:
//     Dataverse counts its limits per user, so any request sent before then is refused too.
type limiter struct {
	mu        sync.Mutex
	max       int     // Options.MaxConcurrency
	ceiling   int     // min(max, x-ms-dop-hint), or 1 before the first answer
	limit     float64 // the bound in force, 1..ceiling
	probing   bool    // no answer yet
	inFlight  int
	waiters   []chan struct{}
	lastCut   time.Time
	pausedTil time.Time
	now       func() time.Time
}

func newLimiter(max int, now func() time.Time) *limiter {
	return &limiter{max: max, ceiling: 1, limit: 1, probing: true, now: now}
}

// acquire waits until no pause is in force and a slot is free, or for ctx to end.
func (l *limiter) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		wait := time.Until(l.pausedTil)
		if wait <= 0 {
			break
		}
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
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

// answered takes in Dataverse's recommended degree of parallelism, hint (0 when the response
// had no x-ms-dop-hint header), and ends the probe.
func (l *limiter) answered(hint int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ceiling := l.max
	if hint > 0 {
		ceiling = min(ceiling, hint)
	}
	if ceiling == l.ceiling && !l.probing {
		return
	}
	if l.probing {
		l.limit = float64(ceiling)
	}
	l.probing = false
	l.ceiling = ceiling
	l.limit = min(l.limit, float64(ceiling))
	l.grant()
}

// throttled halves the limit, at most once a second, and pauses every request for d.
func (l *limiter) throttled(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := time.Now().Add(d); until.After(l.pausedTil) {
		l.pausedTil = until
	}
	now := l.now()
	if now.Sub(l.lastCut) < time.Second {
		return
	}
	l.lastCut = now
	l.limit = max(1, l.limit/2)
}

// succeeded lets the limit creep back towards the ceiling.
func (l *limiter) succeeded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit >= float64(l.ceiling) {
		return
	}
	l.limit = min(float64(l.ceiling), l.limit+1/l.limit)
	l.grant()
}

// current returns the limit in force.
func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}
