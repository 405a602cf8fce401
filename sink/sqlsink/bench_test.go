package sqlsink_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/sink/sinktest"
)

// BenchmarkWrite measures one applied write (an update newer than the row's) and one ignored
// write (a redelivery), on SQLite and, when it is reachable, PostgreSQL.
func BenchmarkWrite(b *testing.B) {
	for _, d := range databases {
		b.Run(d.name, func(b *testing.B) {
			s := openSink(b, d.fresh(b), nil)
			ctx := context.Background()
			data := `{"id":"cus_bench","object":"customer","email":"bench@example.com","metadata":{}}`
			b.Run("applied", func(b *testing.B) {
				i := 0
				for b.Loop() {
					ev := sinktest.Event(fmt.Sprintf("cus_%d", i%100), "customer.updated", fmt.Sprintf("evt_a%d", i),
						sinktest.T0.Add(time.Duration(i)*time.Second), data)
					if err := s.Write(ctx, ev); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("duplicate", func(b *testing.B) {
				ev := sinktest.Event("cus_dup", "customer.updated", "evt_dup", sinktest.T0, data)
				for b.Loop() {
					if err := s.Write(ctx, ev); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				var seq atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := seq.Add(1)
						ev := sinktest.Event(fmt.Sprintf("cus_p%d", i%100), "customer.updated", fmt.Sprintf("evt_p%d", i),
							sinktest.T0.Add(time.Duration(i%1e6)*time.Second), data)
						if err := s.Write(ctx, ev); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
