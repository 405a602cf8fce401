package channel

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookline/hookline"
)

// BenchmarkConsumerMem measures the consumer loop on mem:// with a no-op handler: each iteration
// is one ~2 KB event received, decoded, handled and acknowledged. The events are sent before the
// timer starts, so the figure is the loop's throughput, not the sender's nor mempubsub's 250 ms
// idle poll.
func BenchmarkConsumerMem(b *testing.B) {
	ctx := context.Background()
	name := fmt.Sprintf("mem://bench-consumer-%d", topicSeq.Add(1))
	s, err := OpenSender(ctx, name, nil)
	if err != nil {
		b.Fatal(err)
	}
	r, err := OpenReceiver(ctx, name, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(ctx)
	defer r.Shutdown(ctx)
	ev := benchEvent()
	var handled atomic.Int64
	done := make(chan struct{})
	var target int64
	h := func(ctx context.Context, ev hookline.Event) error {
		if handled.Add(1) == atomic.LoadInt64(&target) {
			close(done)
		}
		return nil
	}
	c, err := NewConsumer(r, h, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Data)))
	atomic.StoreInt64(&target, int64(b.N))
	sendAll(b, s, ev, b.N)
	b.ResetTimer()
	runCtx, stop := context.WithCancel(ctx)
	go c.Run(runCtx)
	<-done
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// sendAll sends n copies of ev from 64 goroutines, as concurrent webhook requests do.
func sendAll(b *testing.B, s *Sender, ev hookline.Event, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := s.Send(context.Background(), ev); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkSenderMem measures Send on mem:// from 64 concurrent goroutines: encoding plus
// gocloud's batching.
func BenchmarkSenderMem(b *testing.B) {
	name := fmt.Sprintf("mem://bench-sender-%d", topicSeq.Add(1))
	s, err := OpenSender(context.Background(), name, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	r, err := OpenReceiver(context.Background(), name, nil) // mempubsub drops messages nobody subscribed to
	if err != nil {
		b.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	b.ReportAllocs()
	sendAll(b, s, benchEvent(), b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
