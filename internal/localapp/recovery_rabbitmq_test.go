//go:build restart

package localapp

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	_ "github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testenv"
)

// TestRestartRabbitMQDriver is TestRestartRabbitMQ through hookline's own driver (rabbitmq://):
// events stream through the webhook into a quorum queue and on into a SQLite sink while the
// broker restarts. The webhook answers 503 while the broker is away and 200 once it is back,
// without a process restart, and every event reaches the sink exactly once as a row.
func TestRestartRabbitMQDriver(t *testing.T) {
	server := testenv.Getenv("RABBIT_SERVER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	t.Setenv("RABBIT_SERVER_URL", server)
	ctx := context.Background()
	conn, err := rabbitsetup.Dial(ctx, server)
	testenv.Require(t, "RabbitMQ", err)
	conn.Close()
	_, err = exec.LookPath("rabbitmqctl")
	testenv.Require(t, "rabbitmqctl", err)

	name := fmt.Sprintf("hookline-restart-driver-%d", time.Now().UnixNano())
	if err := rabbitsetup.Declare(ctx, server, name, name, &rabbitsetup.Options{QueueType: rabbitsetup.Quorum}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rabbitsetup.Delete(context.Background(), server, name, name) })
	t.Cleanup(func() { rabbitctl(t, "start_app") }) // never leave the broker stopped

	db := filepath.Join(t.TempDir(), "restart.db")
	channel.ReconnectInterval = 200 * time.Millisecond
	h := startWith(t, Config{Channel: "rabbitmq://" + name, Subscription: "rabbitmq://" + name, Sink: "sqlite://" + db})

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
