// Package lazy builds a value on first use and keeps it: what the function halves of package
// pipeline and the recover function of package recovery open on their first invocation.
package lazy

import (
	"context"
	"sync"
	"sync/atomic"
)

// Value builds a value on first use and keeps it for the life of the process. A failed build is
// not kept: the next call tries again, so a broker or sink that was unreachable at the first
// invocation is used once it is back, and every failing invocation logs why.
type Value[T any] struct {
	build func(ctx context.Context) (T, error)
	mu    sync.Mutex
	val   atomic.Pointer[T]
}

// New returns a Value that builds itself with build.
func New[T any](build func(ctx context.Context) (T, error)) *Value[T] {
	return &Value[T]{build: build}
}

// Get returns the value, building it if no build has succeeded yet. The build runs with a
// context that is not canceled with ctx: the value outlives the invocation that built it, and
// its connections must not end with it.
func (l *Value[T]) Get(ctx context.Context) (T, error) {
	if v := l.val.Load(); v != nil {
		return *v, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if v := l.val.Load(); v != nil {
		return *v, nil
	}
	v, err := l.build(context.WithoutCancel(ctx))
	if err != nil {
		var zero T
		return zero, err
	}
	l.val.Store(&v)
	return v, nil
}

// Built returns the value if it was built, without building it.
func (l *Value[T]) Built() (T, bool) {
	if v := l.val.Load(); v != nil {
		return *v, true
	}
	var zero T
	return zero, false
}
