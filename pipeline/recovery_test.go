//go:build restart

// The broker restart tests stop and start the local RabbitMQ, so they must not run beside other
// tests that use it: they are built only with -tags restart, and .ci/run runs them on their own,
// after the main suite (go test -race -tags restart -run Restart ./pipeline).

package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "gocloud.dev/pubsub/rabbitpubsub"

	_ "github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// TestRestartRabbitMQ streams signed events through the webhook into RabbitMQ (gocloud's
// rabbit:// driver) and on into a SQLite sink while the broker restarts. The webhook must answer
// 503 while the broker is away and 200 again once it is back, without a process restart; every
// event must reach the sink exactly as one row (redeliveries absorbed), none lost.
func TestRestartRabbitMQ(t *testing.T) { restartRabbitMQ(t, "rabbit") }

// TestRestartRabbitMQDriver is the same through hookline's own driver, rabbitmq://.
func TestRestartRabbitMQDriver(t *testing.T) { restartRabbitMQ(t, "rabbitmq") }

func restartRabbitMQ(t *testing.T, scheme string) {
	server := testenv.Getenv("RABBIT_SERVER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	t.Setenv("RABBIT_SERVER_URL", server)
	ctx := context.Background()
	conn, err := rabbitsetup.Dial(ctx, server)
	testenv.Require(t, "RabbitMQ", err)
	conn.Close()
	_, err = exec.LookPath("rabbitmqctl")
	testenv.Require(t, "rabbitmqctl", err)

	name := fmt.Sprintf("hookline-restart-%s-%d", scheme, time.Now().UnixNano())
	if err := rabbitsetup.Declare(ctx, server, name, name, &rabbitsetup.Options{QueueType: rabbitsetup.Quorum}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rabbitsetup.Delete(context.Background(), server, name, name) })
	t.Cleanup(func() { rabbitctl(t, "start_app") }) // never leave the broker stopped

	db := filepath.Join(t.TempDir(), "restart.db")
	url := scheme + "://" + name
	h := startWith(t, Config{Channel: url, Subscription: url, Sink: "sqlite://" + db})

	// Enough events that the stream is still running when the broker stops (a post takes a few ms).
	const n = 2000
	var answers sync.Map // status -> *atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		postAll(t, h, n, &answers)
	}()
	waitCount(t, &answers, http.StatusOK, n/10)
	rabbitctl(t, "stop_app")
	waitCount(t, &answers, http.StatusServiceUnavailable, 1)
	time.Sleep(time.Second) // let the webhook refuse a while, as during a real restart
	rabbitctl(t, "start_app")
	<-done

	deadline := time.Now().Add(60 * time.Second)
	for rows(t, db) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := rows(t, db); got != n {
		t.Fatalf("sink has %d of %d events after the broker restart", got, n)
	}
	t.Logf("answers: 200=%d 503=%d", count(&answers, 200), count(&answers, 503))
}

func rabbitctl(t *testing.T, verb string) {
	out, err := exec.Command("rabbitmqctl", verb).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", verb, err, out)
	}
}
