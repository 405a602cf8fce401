package main

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	_ "gocloud.dev/pubsub/rabbitpubsub"

	_ "github.com/hookline/hookline/channel/amazonsqs"
	_ "github.com/hookline/hookline/channel/googlepubsub"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/cmd/hookline-load/internal/loadgen"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/fauxqs"
	"github.com/hookline/hookline/internal/testsupport/pubsubtest"
	"github.com/hookline/hookline/internal/testsupport/testenv"
	"github.com/hookline/hookline/pipeline"
)

// The broker benchmarks drive the local wiring through the webhook over loopback, with each
// broker that is real here as its channel and a counting no-op sink, for a fixed time: once as
// fast as 64 connections go, once at a fixed 500 events/s. Run them one at a time:
//
//	go test -run '^$' -bench Broker -benchtime 1x ./cmd/hookline-load
//
// Each reports accepted and consumed events/s and webhook-to-sink latency p50/p99 (ms).

const brokerBenchDuration = 8 * time.Second

func BenchmarkBrokerRabbitMQ(b *testing.B) {
	server := testenv.Getenv("RABBIT_SERVER_URL", "amqp://guest:guest@127.0.0.1:5672/")
	b.Setenv("RABBIT_SERVER_URL", server)
	name := fmt.Sprintf("hookline-bench-%d", time.Now().UnixNano())
	if err := rabbitsetup.Declare(context.Background(), server, name, name, &rabbitsetup.Options{QueueType: rabbitsetup.Quorum}); err != nil {
		testenv.Require(b, "RabbitMQ", err)
	}
	b.Cleanup(func() { rabbitsetup.Delete(context.Background(), server, name, name) })
	benchBroker(b, "rabbit://"+name, "rabbit://"+name)
}

func BenchmarkBrokerSQSEmulator(b *testing.B) {
	sqs := fauxqs.Start(b, nil)
	q := sqs.CreateQueue(b, "hookline-bench", map[string]string{"VisibilityTimeout": "30"})
	benchBroker(b, sqs.QueueURL(q), sqs.QueueURL(q))
}

func BenchmarkBrokerPubSubFake(b *testing.B) {
	ps := pubsubtest.Shared(b)
	names := ps.Create(b, "hookline-bench", &pubsubtest.Options{AckDeadline: 30 * time.Second})
	benchBroker(b, "gcppubsub://"+names.Topic, "gcppubsub://"+names.Subscription)
}

func benchBroker(b *testing.B, topicURL, subURL string) {
	for _, rate := range []int{0, 500} {
		name := "max"
		if rate > 0 {
			name = fmt.Sprintf("rate=%d", rate)
		}
		b.Run(name, func(b *testing.B) {
			res := driveBroker(b, topicURL, subURL, rate)
			b.ReportMetric(res.AcceptedPerSecond(), "accepted/s")
			b.ReportMetric(res.ConsumedPerSecond(), "consumed/s")
			b.ReportMetric(ms(loadgen.Pct(res.SinkLatency, 50)), "p50-ms")
			b.ReportMetric(ms(loadgen.Pct(res.SinkLatency, 99)), "p99-ms")
			if len(res.Refused) > 0 || res.Errors > 0 || int64(len(res.SinkLatency)) < res.Accepted {
				b.Errorf("refused %v, transport errors %d, consumed %d of %d", res.Refused, res.Errors, len(res.SinkLatency), res.Accepted)
			}
		})
	}
}

func driveBroker(b *testing.B, topicURL, subURL string, rate int) *loadgen.Result {
	rec := loadgen.NewRecorder()
	secret := stripehook.GenerateSecret()
	app, err := pipeline.Open(context.Background(), pipeline.Config{Channel: topicURL, Subscription: subURL, Sink: "discard://",
		Secrets: []string{secret}}, &pipeline.Options{WrapSink: rec.Wrap})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()
	res := loadgen.Drive("http://"+ln.Addr().String()+"/webhook", secret, brokerBenchDuration, 64, rate, rec)
	res.AwaitConsumed(rec)
	stop()
	if err := <-served; err != nil {
		b.Fatal(err)
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
