package dataverse_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// BenchmarkWriteLatency writes customer updates through a double that adds 50 ms to every
// request, as a distant Dataverse would, with as many writers as the sink's concurrency. It
// reports events/s, which must grow with the concurrency, and requests per event, which must
// stay at 2 (one read, one write) for events that change a row.
func BenchmarkWriteLatency(b *testing.B) {
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			srv := dataversetest.New(&dataversetest.Options{Tokens: []string{testTok}, Latency: 50 * time.Millisecond})
			defer srv.Close()
			s := openSink(b, srv, func(o *dataverse.Options) { o.MaxConcurrency = conc })
			var next atomic.Int64
			start := time.Now()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range conc {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						// 100 customers, each event newer than the last about it.
						ev := customer(fmt.Sprintf("cus_b%d", i%100), "customer.updated", fmt.Sprintf("evt_%d", i),
							int(i), `{"email":"bench@example.com","name":"Bench Mark"}`)
						if err := s.Write(context.Background(), ev); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(srv.TotalRequests())/float64(b.N), "requests/event")
		})
	}
}
