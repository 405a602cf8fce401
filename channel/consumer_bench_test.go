package channel

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline"
)

// BenchmarkConsumerMem measures the consumer loop on mem:// with a no-op handler: each iteration
// is one ~2 KB event received, decoded, handled and acknowledged. The events are sent before the
// timer starts, so the figure is the loop's throughput, not the sender's nor mempubsub's 250 ms
// idle poll.
func BenchmarkConsumerMem(b *testing.B) { benchConsumerMem(b, observability{}) }

// BenchmarkConsumerMemTelemetry is BenchmarkConsumerMem with tracing (every span sampled) and
// metrics on, exported to exporters that drop them.
func BenchmarkConsumerMemTelemetry(b *testing.B) { benchConsumerMem(b, telemetryOn(b)) }

// BenchmarkConsumerMemOnSettled is BenchmarkConsumerMem with an OnSettled that does nothing: the
// cost of describing each delivery to an operator console.
func BenchmarkConsumerMemOnSettled(b *testing.B) {
	benchConsumerMem(b, observability{onSettled: func(context.Context, Settled) {}})
}

func benchConsumerMem(b *testing.B, obs observability) {
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
	c, err := NewConsumer(r, h, &ConsumerOptions{TracerProvider: obs.tp, MeterProvider: obs.mp, OnSettled: obs.onSettled})
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
func BenchmarkSenderMem(b *testing.B) { benchSenderMem(b, observability{}) }

// BenchmarkSenderMemTelemetry is BenchmarkSenderMem with tracing (every span sampled) and metrics
// on, exported to exporters that drop them.
func BenchmarkSenderMemTelemetry(b *testing.B) { benchSenderMem(b, telemetryOn(b)) }

func benchSenderMem(b *testing.B, obs observability) {
	name := fmt.Sprintf("mem://bench-sender-%d", topicSeq.Add(1))
	s, err := OpenSender(context.Background(), name, &SenderOptions{TracerProvider: obs.tp, MeterProvider: obs.mp})
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

// observability is the providers a benchmark runs with; zero: the global no-op ones.
type observability struct {
	tp        trace.TracerProvider
	mp        metric.MeterProvider
	onSettled func(context.Context, Settled)
}

// telemetryOn returns an SDK tracer provider that samples every span and batches it to an
// exporter that drops it, and an SDK meter provider that aggregates every measurement.
func telemetryOn(b *testing.B) observability {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())) // aggregated, never read
	b.Cleanup(func() {
		tp.Shutdown(context.Background())
		mp.Shutdown(context.Background())
	})
	return observability{tp: tp, mp: mp}
}
