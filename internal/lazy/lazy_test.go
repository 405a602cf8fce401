package lazy

import (
	"context"
	"errors"
	"testing"
)

func TestLazyRetriesAFailedBuild(t *testing.T) {
	calls := 0
	l := New(func(ctx context.Context) (int, error) {
		calls++
		if ctx.Err() != nil {
			t.Error("build context canceled with the caller's")
		}
		if calls == 1 {
			return 0, errors.New("down")
		}
		return 42, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := l.Built(); ok {
		t.Fatal("built before Get")
	}
	if _, err := l.Get(ctx); err == nil {
		t.Fatal("first build: no error")
	}
	for range 2 {
		if v, err := l.Get(ctx); err != nil || v != 42 {
			t.Fatalf("Get = %d, %v", v, err)
		}
	}
	if v, ok := l.Built(); !ok || v != 42 || calls != 2 {
		t.Fatalf("Built = %d, %v after %d builds", v, ok, calls)
	}
}
