package hookline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrorCode says what the consumer loop should do about a failure.
type ErrorCode int

const (
	// OK is the code of a nil error.
	OK ErrorCode = iota
	// Unknown is the code of an error nobody classified. The loop treats it as Transient.
	Unknown
	// Transient failures may succeed later (a timeout, a 5xx, a 429, a dropped connection): the loop
	// retries with backoff, then nacks so the broker redelivers.
	Transient
	// Permanent failures will fail the same way every time (a validation error, a malformed
	// payload): the loop dead-letters the message with the reason and acks it.
	Permanent
	// Canceled means the work was stopped from outside (shutdown): the message is returned to the
	// broker untouched and counts as no attempt.
	Canceled
)

func (c ErrorCode) String() string {
	switch c {
	case OK:
		return "ok"
	case Unknown:
		return "unknown"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Canceled:
		return "canceled"
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// Error is a classified error. Create one with [Errorf], [MarkTransient], [MarkPermanent] or
// [WithRetryAfter]; read it back with [Code] and [RetryAfter].
type Error struct {
	Code ErrorCode
	// RetryAfter, when positive, is the least time to wait before trying again (HTTP Retry-After).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Code.String()
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf formats an error like fmt.Errorf (so %w wraps) and gives it code c.
func Errorf(c ErrorCode, format string, args ...any) error {
	return &Error{Code: c, Err: fmt.Errorf(format, args...)}
}

// MarkTransient classifies err as Transient. It returns nil for a nil err.
func MarkTransient(err error) error { return mark(err, Transient) }

// MarkPermanent classifies err as Permanent. It returns nil for a nil err.
func MarkPermanent(err error) error { return mark(err, Permanent) }

func mark(err error, c ErrorCode) error {
	if err == nil {
		return nil
	}
	return &Error{Code: c, Err: err}
}

// WithRetryAfter classifies err as Transient and asks the loop to wait at least d before the next
// attempt, as an HTTP 429 or 503 with Retry-After does. It returns nil for a nil err.
func WithRetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &Error{Code: Transient, RetryAfter: d, Err: err}
}

// Code returns the classification of err: the code of the outermost [*Error] in its chain;
// Canceled for context.Canceled; Transient for context.DeadlineExceeded (a slow dependency);
// OK for nil; Unknown otherwise.
func Code(err error) ErrorCode {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return Transient
	}
	return Unknown
}

// RetryAfter returns the longest Retry-After carried by any [*Error] in err's chain, or 0.
func RetryAfter(err error) time.Duration {
	var d time.Duration
	for err != nil {
		if e, ok := err.(*Error); ok && e.RetryAfter > d {
			d = e.RetryAfter
		}
		err = errors.Unwrap(err)
	}
	return d
}

// RouteError is the failure of one route of a configuration (package route): which route, and
// why. Its message, which a dead letter keeps as its reason, is `route "<name>": <cause>`, and
// [RouteOf] reads the route back from such a reason. It unwraps to the cause, so [Code] reads
// the cause's code.
type RouteError struct {
	Route string
	Err   error
}

func (e *RouteError) Error() string { return fmt.Sprintf("route %q: %v", e.Route, e.Err) }
func (e *RouteError) Unwrap() error { return e.Err }

// RouteOf returns the route a reason names when it is a [RouteError]'s message, else "".
func RouteOf(reason string) string {
	rest, ok := strings.CutPrefix(reason, `route "`)
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, `": `)
	if !ok || strings.ContainsAny(name, `"\`) {
		return ""
	}
	return name
}
