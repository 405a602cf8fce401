// Package testenv tells tests which local services they may use.
//
// A test that needs a service (PostgreSQL, RabbitMQ, ...) calls [Require] with a probe. When the
// service is missing the test is skipped on a developer's machine but fails in CI (the CI
// environment variable is set), so a suite that should run can never be skipped silently there.
package testenv

import (
	"bytes"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// Strict reports whether missing services must fail tests: when CI or HOOKLINE_REQUIRE_SERVICES
// is set to a non-empty value.
func Strict() bool {
	return os.Getenv("CI") != "" || os.Getenv("HOOKLINE_REQUIRE_SERVICES") != ""
}

// Require skips t (or, when [Strict], fails it) with a message naming service when err is not nil.
func Require(t testing.TB, service string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if Strict() {
		t.Fatalf("%s is required in CI but unavailable: %v", service, err)
	}
	t.Skipf("%s unavailable, skipping (set CI=1 to make this a failure): %v", service, err)
}

// Dial checks that something listens on the TCP address addr.
func Dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// Getenv returns the environment variable key, or def when it is unset or empty.
func Getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Buffer collects a child process's output for failure messages: safe for the goroutine that
// exec copies output with, and bounded (past 64 KiB it keeps what it has, enough to explain).
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
