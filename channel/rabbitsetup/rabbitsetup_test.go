package rabbitsetup_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

func server(t *testing.T) string {
	t.Helper()
	u := testenv.Getenv("RABBIT_SERVER_URL", "amqp://guest:guest@localhost:5672/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := rabbitsetup.Dial(ctx, u)
	testenv.Require(t, "RabbitMQ", err)
	conn.Close()
	return u
}

func TestDeclareIsIdempotentAndRoutes(t *testing.T) {
	u := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("hookline-rabbitsetup-test-%d", os.Getpid())
	opts := &rabbitsetup.Options{QueueType: rabbitsetup.Quorum, DeliveryLimit: 20, DeadLetterExchange: name + "-dlx"}
	for range 2 {
		if err := rabbitsetup.Declare(ctx, u, name, name, opts); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := rabbitsetup.Delete(context.Background(), u, name, name); err != nil {
			t.Error(err)
		}
	})
	conn, err := rabbitsetup.Dial(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// A message published to the exchange lands in the queue: the binding exists.
	if err := ch.PublishWithContext(ctx, name, "", true, false, amqp.Publishing{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Messages == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d messages, want 1", q.Messages)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Declaring the same queue with other arguments fails instead of silently differing.
	err = rabbitsetup.Declare(ctx, u, name, name, &rabbitsetup.Options{QueueType: rabbitsetup.Classic})
	if err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("redeclare with another queue type: %v, want an error naming the queue", err)
	}
}

func TestDeleteMissingIsNotAnError(t *testing.T) {
	u := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rabbitsetup.Delete(ctx, u, "hookline-never-declared", "hookline-never-declared"); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsRedactPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := rabbitsetup.Declare(ctx, "amqp://user:s3cret@127.0.0.1:1/", "e", "q", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v: want a connection error without the password", err)
	}
	if err := rabbitsetup.Declare(ctx, "", "e", "q", nil); err == nil {
		t.Error("empty server URL: no error")
	}
	if err := rabbitsetup.Declare(ctx, "amqp://localhost/", "", "q", nil); err == nil {
		t.Error("empty exchange name: no error")
	}
}
