// Package serverlesstest holds the test helpers that the tests of the function adapters and of
// the serverless examples share: a fixed environment, a log collector, sample events, and
// invocation payloads shaped as the cloud providers document them. Only tests import it.
package serverlesstest

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter/stripehook"
)

// Env is a fixed environment; its Get method serves as an Options.Getenv.
type Env map[string]string

// Get returns the value of key, "" when it is not set.
func (e Env) Get(key string) string { return e[key] }

// LogBuffer collects log output for assertions; it is safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a logger that writes text records of every level to the returned buffer,
// which t prints if it fails.
func Logger(t testing.TB) (*slog.Logger, *LogBuffer) {
	t.Helper()
	lb := &LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", lb.String())
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// Event returns a customer.updated event for the customer subject, as the webhook would send it.
func Event(id, subject string) hookline.Event {
	return hookline.Event{
		ID: id, Source: stripehook.SourceName, Type: "customer.updated", Subject: subject, Object: "customer",
		Action: hookline.Updated, Time: time.Unix(1700000000, 0).UTC(),
		Data:     []byte(`{"id":"` + subject + `","object":"customer"}`),
		Metadata: map[string]string{"livemode": "false"},
	}
}

// Encode returns ev as a channel message body, failing t if it cannot.
func Encode(t testing.TB, ev hookline.Event) []byte {
	t.Helper()
	b, err := channel.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
