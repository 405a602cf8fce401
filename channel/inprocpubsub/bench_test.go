package inprocpubsub_test

import (
	"context"
	"fmt"
	"testing"

	"gocloud.dev/pubsub"
)

// BenchmarkRoundTrip measures one message at a time: send, receive, ack, on inproc:// and, for
// comparison, mem:// (whose receive sleeps 250 ms when it finds its queue empty, which this
// loop makes it do often).
func BenchmarkRoundTrip(b *testing.B) {
	for _, scheme := range []string{"inproc", "mem"} {
		b.Run(scheme, func(b *testing.B) {
			ctx := context.Background()
			tp, s := openPair(b, fmt.Sprintf("%s://bench-roundtrip-%d", scheme, seq.Add(1)))
			body := make([]byte, 1024)
			b.ReportAllocs()
			for b.Loop() {
				if err := tp.Send(ctx, &pubsub.Message{Body: body, Metadata: map[string]string{"ce_id": "evt_1"}}); err != nil {
					b.Fatal(err)
				}
				m, err := s.Receive(ctx)
				if err != nil {
					b.Fatal(err)
				}
				m.Ack()
			}
		})
	}
}

// BenchmarkThroughput measures messages per second with senders and a receiver running at the
// same time, as the pipeline does: b.N messages sent from parallel goroutines, received and
// acknowledged by one.
func BenchmarkThroughput(b *testing.B) {
	ctx := context.Background()
	tp, s := openPair(b, fmt.Sprintf("inproc://bench-throughput-%d?maxbacklog=100000000", seq.Add(1)))
	body := make([]byte, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan error, 1)
	n := b.N
	go func() {
		for range n {
			m, err := s.Receive(ctx)
			if err != nil {
				done <- err
				return
			}
			m.Ack()
		}
		done <- nil
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := tp.Send(ctx, &pubsub.Message{Body: body}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// openPair opens the topic and the subscription of u, both shut down when the benchmark ends.
func openPair(b *testing.B, u string) (*pubsub.Topic, *pubsub.Subscription) {
	b.Helper()
	ctx := context.Background()
	tp, err := pubsub.OpenTopic(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tp.Shutdown(ctx) })
	s, err := pubsub.OpenSubscription(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Shutdown(ctx) })
	return tp, s
}
