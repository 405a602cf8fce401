package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hookline/hookline/emitter/stripehook"
)

// Helpers of the broker restart tests.

// startWith serves the local wiring with cfg and a real sink, as examples/local does.
func startWith(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, secret: stripehook.GenerateSecret(), done: make(chan error, 1), logs: &lockedBuffer{}}
	cfg.Secrets = []string{h.secret}
	return serveWith(t, h, cfg, &Options{ReconnectInterval: 200 * time.Millisecond})
}

// postAll posts n distinct events, each retried until it is accepted, as Stripe retries.
func postAll(t *testing.T, h *harness, n int, answers *sync.Map) {
	created := time.Now().Add(-time.Hour)
	client := &http.Client{Timeout: 15 * time.Second}
	for i := range n {
		body := stripehook.SampleEvent("customer.created", fmt.Sprintf("cus_restart_%d", i), created)
		for {
			status, err := postSigned(context.Background(), client, h.url, body, stripehook.Sign(body, h.secret, time.Now()))
			if err != nil {
				t.Error(err)
				return
			}
			c, _ := answers.LoadOrStore(status, new(atomic.Int64))
			c.(*atomic.Int64).Add(1)
			if status == http.StatusOK {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func count(answers *sync.Map, status int) int64 {
	if c, ok := answers.Load(status); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

func waitCount(t *testing.T, answers *sync.Map, status int, n int64) {
	deadline := time.Now().Add(60 * time.Second)
	for count(answers, status) < n {
		if time.Now().After(deadline) {
			t.Fatalf("never saw %d answers %d (200=%d 503=%d)", n, status, count(answers, 200), count(answers, 503))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func rows(t *testing.T, path string) int {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM stripe_objects`).Scan(&n); err != nil {
		return 0 // not created yet
	}
	return n
}
