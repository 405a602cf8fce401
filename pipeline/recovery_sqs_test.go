package pipeline

import (
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/hookline/hookline/channel/amazonsqs"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
)

// TestRestartSQSEmulator streams signed events through the webhook into SQS (the fauxqs emulator,
// persisting its state as SQS does) and on into a SQLite sink while the emulator restarts: the
// webhook answers 503 while it is away and 200 again once it is back, the consumer picks up again
// by itself, and every event ends as exactly one row. The emulator is this test's own, so it can
// run beside the other tests.
func TestRestartSQSEmulator(t *testing.T) {
	sqs := fauxqs.Start(t, &fauxqs.Options{Persist: true})
	q := sqs.CreateQueue(t, "hookline-restart", map[string]string{"VisibilityTimeout": "5"})
	url := sqs.QueueURL(q)
	db := filepath.Join(t.TempDir(), "restart.db")
	h := startWith(t, Config{Channel: url, Subscription: url, Sink: "sqlite://" + db})

	const n = 200
	var answers sync.Map
	done := make(chan struct{})
	go func() {
		defer close(done)
		postAll(t, h, n, &answers)
	}()
	waitCount(t, &answers, http.StatusOK, n/4)
	sqs.Stop()
	waitCount(t, &answers, http.StatusServiceUnavailable, 1)
	time.Sleep(time.Second)
	if err := sqs.StartAgain(); err != nil {
		t.Fatal(err)
	}
	<-done
	deadline := time.Now().Add(60 * time.Second)
	for rows(t, db) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := rows(t, db); got != n {
		t.Fatalf("sink has %d of %d events after the emulator restart", got, n)
	}
	t.Logf("answers: 200=%d 503=%d", count(&answers, 200), count(&answers, 503))
}
