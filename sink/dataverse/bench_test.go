package dataverse_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/sink"
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

// BenchmarkRequestsPerEvent writes rounds of changes to 1,000 contacts the sink has written
// before (the steady state), 100 events per ApplyBatch as the consumer hands them, and reports
// the HTTP requests the sink sent per changed event. With second-writer, another sink (a
// replica, a person, a flow) changes 10% of the rows between the rounds, so the sink's
// remembered ETags of those are stale. batch=1 sends every operation as a request of its own
// (requests = operations); batch=default uses $batch requests.
//
//	go test -run '^$' -bench RequestsPerEvent -benchtime 20000x ./sink/dataverse
func BenchmarkRequestsPerEvent(b *testing.B) {
	for _, second := range []bool{false, true} {
		for _, size := range []int{1, 0} {
			name := fmt.Sprintf("second-writer=%v/batch=%d", second, size)
			if size == 0 {
				name = fmt.Sprintf("second-writer=%v/batch=default", second)
			}
			b.Run(name, func(b *testing.B) {
				srv := dataversetest.New(&dataversetest.Options{Tokens: []string{testTok}})
				defer srv.Close()
				count := &countRequests{base: http.DefaultTransport}
				s := openSink(b, srv, func(o *dataverse.Options) {
					o.HTTPClient = &http.Client{Transport: count}
					o.BatchSize = size
				})
				other := openSink(b, srv, nil)
				const rows = 1000
				round := func(w sink.Sink, sec int, keep func(i int) bool) int {
					var items []sink.Item
					for i := range rows {
						if keep(i) {
							items = append(items, sink.Item{Event: customer(fmt.Sprintf("cus_rpe%04d", i), "customer.updated",
								fmt.Sprintf("evt_%d_%d", i, sec), sec, fmt.Sprintf(`{"email":"r%d@example.com"}`, sec))})
						}
					}
					for lo := 0; lo < len(items); lo += 100 {
						for _, o := range sink.ApplyBatch(context.Background(), w, items[lo:min(lo+100, len(items))]) {
							if o.Err != nil {
								b.Fatal(o.Err)
							}
						}
					}
					return len(items)
				}
				all := func(int) bool { return true }
				round(s, 0, all)
				count.n.Store(0)
				b.ResetTimer()
				events := 0
				for r := 1; events < b.N; r++ {
					if second {
						round(other, 2*r-1, func(i int) bool { return i%10 == r%10 })
					}
					events += round(s, 2*r, all)
				}
				b.ReportMetric(float64(count.n.Load())/float64(events), "requests/event")
			})
		}
	}
}

// countRequests counts the HTTP requests a client sends.
type countRequests struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}
