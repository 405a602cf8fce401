// Package rabbittest gives tests the local RabbitMQ: its URL, and exchanges and queues of their
// own that are deleted when the test ends. Test support only.
package rabbittest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// Server returns the AMQP URL of the local RabbitMQ (RABBIT_SERVER_URL, default
// amqp://guest:guest@127.0.0.1:5672/), set in the environment the drivers read for the rest of t;
// it skips t (fails it in CI) when RabbitMQ is not there.
func Server(t testing.TB) string {
	t.Helper()
	u := testenv.Getenv(rabbitmq.ServerURLEnv, "amqp://guest:guest@127.0.0.1:5672/")
	t.Setenv(rabbitmq.ServerURLEnv, u)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := rabbitsetup.Dial(ctx, u)
	testenv.Require(t, "RabbitMQ", err)
	conn.Close()
	return u
}

var seq atomic.Int64

// Declare declares an exchange and a queue bound to it (quorum unless opts says otherwise), both
// named <prefix>-<pid>-<n>, deletes them when t ends, and returns the name.
func Declare(t testing.TB, server, prefix string, opts rabbitsetup.Options) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), seq.Add(1))
	if opts.QueueType == "" {
		opts.QueueType = rabbitsetup.Quorum
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rabbitsetup.Declare(ctx, server, name, name, &opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rabbitsetup.Delete(ctx, server, name, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}
