package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	_ "github.com/hookline/hookline/channel/rabbitmq"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// BenchmarkBrokerRabbitMQDriver is BenchmarkBrokerRabbitMQ through hookline's own driver
// (rabbitmq://, package channel/rabbitmq) instead of gocloud's rabbit://, on the same kind of
// queue (quorum, persistent messages, publisher confirms). Run both in one session to compare:
//
//	go test -run '^$' -bench 'BrokerRabbitMQ' -benchtime 1x ./cmd/hookline-load
func BenchmarkBrokerRabbitMQDriver(b *testing.B) {
	server := testenv.Getenv("RABBIT_SERVER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	b.Setenv("RABBIT_SERVER_URL", server)
	name := fmt.Sprintf("hookline-bench-driver-%d", time.Now().UnixNano())
	if err := rabbitsetup.Declare(context.Background(), server, name, name, &rabbitsetup.Options{QueueType: rabbitsetup.Quorum}); err != nil {
		testenv.Require(b, "RabbitMQ", err)
	}
	b.Cleanup(func() { rabbitsetup.Delete(context.Background(), server, name, name) })
	benchBroker(b, "rabbitmq://"+name, "rabbitmq://"+name)
}
