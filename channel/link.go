package channel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hookline/hookline/internal/redact"
)

// DefaultReconnectInterval is the default of SenderOptions.ReconnectInterval and
// ReceiverOptions.ReconnectInterval.
const DefaultReconnectInterval = time.Second

// errClosed is returned for a Sender or Receiver that was shut down.
var errClosed = errors.New("shut down")

// link holds the current gocloud topic or subscription of a Sender or Receiver and reopens it
// from its URL after a failure. T is *pubsub.Topic or *pubsub.Subscription.
type link[T comparable] struct {
	mu       sync.Mutex
	cur      T
	ok       bool // cur works, as far as we know
	closed   bool
	rawURL   string // unredacted, to reopen; "" when opened by other means
	url      string // redacted, for messages
	open     func(context.Context, string) (T, error)
	close    func(T, context.Context) error
	lastTry  time.Time
	lastErr  error
	attempts int // failed reopen attempts since the last success
	log      *slog.Logger
	// every is the least time between two attempts to reopen (the options' ReconnectInterval).
	every time.Duration
}

func (l *link[T]) init(v T, rawURL string, open func(context.Context, string) (T, error), closeFn func(T, context.Context) error, every time.Duration) {
	if every <= 0 {
		every = DefaultReconnectInterval
	}
	l.cur, l.ok, l.rawURL, l.open, l.close, l.every = v, true, rawURL, open, closeFn, every
	l.url = "(opened without a URL)"
	if rawURL != "" {
		l.url = redact.String(rawURL)
	}
}

func (l *link[T]) logf(format string, args ...any) {
	l.mu.Lock()
	log := l.log
	l.mu.Unlock()
	if log != nil {
		log.Warn(fmt.Sprintf(format, args...))
	}
}

func (l *link[T]) setLogger(log *slog.Logger) {
	l.mu.Lock()
	l.log = log
	l.mu.Unlock()
}

func (l *link[T]) current() T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// broke records that v failed. It reports whether the link can reopen (it was opened from a URL
// and is not shut down); a failure of a value already replaced changes nothing.
func (l *link[T]) broke(v T) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.open == nil {
		return false
	}
	if v == l.cur {
		l.ok = false
	}
	return true
}

// get returns the current value, reopening it first if it failed and the last attempt is at
// least the reconnect interval old; otherwise it fails at once with the last error.
func (l *link[T]) get(ctx context.Context) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	switch {
	case l.closed:
		return zero, errClosed
	case l.ok:
		return l.cur, nil
	case time.Since(l.lastTry) < l.every:
		return zero, fmt.Errorf("broker unavailable, reconnecting: %w", l.lastErr)
	}
	return l.reopenLocked(ctx)
}

// wait is get for a receiver: it waits (with growing pauses, up to 30s) until the value is
// reopened, l is shut down, or ctx ends.
func (l *link[T]) wait(ctx context.Context) (T, error) {
	for {
		v, err := l.get(ctx)
		if err == nil || errors.Is(err, errClosed) || ctx.Err() != nil {
			return v, err
		}
		l.mu.Lock()
		pause := min(l.every<<min(l.attempts, 5), 30*time.Second) - time.Since(l.lastTry)
		l.mu.Unlock()
		if pause < 10*time.Millisecond {
			pause = 10 * time.Millisecond
		}
		if !sleep(ctx, pause) {
			var zero T
			return zero, ctx.Err()
		}
	}
}

func (l *link[T]) reopenLocked(ctx context.Context) (T, error) {
	l.lastTry = time.Now()
	v, err := l.open(ctx, l.rawURL)
	if err != nil {
		l.attempts++
		l.lastErr = err
		var zero T
		return zero, fmt.Errorf("broker unavailable, reconnecting: %w", err)
	}
	old := l.cur
	l.cur, l.ok, l.attempts, l.lastErr = v, true, 0, nil
	if l.log != nil {
		l.log.Info("hookline: reconnected to " + l.url)
	}
	go func() { // release the broken one without holding up the new one
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.close(old, ctx)
	}()
	return v, nil
}

// health returns nil while the current value works as far as the last operation showed, and
// otherwise why not.
func (l *link[T]) health() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return errClosed
	case l.ok:
		return nil
	case l.lastErr != nil:
		return fmt.Errorf("broker unavailable, reconnecting: %w", l.lastErr)
	}
	return errors.New("broker unavailable, reconnecting")
}

// shutdown closes the current value for good.
func (l *link[T]) shutdown(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	v := l.cur
	l.mu.Unlock()
	return l.close(v, ctx)
}
