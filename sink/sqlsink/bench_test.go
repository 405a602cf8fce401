package sqlsink_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/sink"
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

// BenchmarkApplyBatch compares events per second (the events/s metric) written one at a time
// with Apply, each in a transaction of its own, and with ApplyBatch in batches of 10, 100 and
// 500, each in one transaction, on SQLite (WAL, synchronous=FULL: a commit waits for the disk)
// and PostgreSQL. The events go round 10,000 customers, each newer than its row, so that nearly
// all are stored; one in ten is a redelivery of the one before it, which is ignored.
func BenchmarkApplyBatch(b *testing.B) {
	for _, d := range databases {
		b.Run(d.name, func(b *testing.B) {
			for _, size := range []int{1, 10, 100, 500} {
				b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) { benchmarkBatches(b, d, size) })
			}
		})
	}
}

func benchmarkBatches(b *testing.B, d database, size int) {
	s := openSink(b, d.fresh(b), nil)
	ctx := context.Background()
	seq := 0
	next := func() []sink.Item {
		items := make([]sink.Item, size)
		for j := range items {
			if j%10 == 9 {
				items[j] = items[j-1]
				continue
			}
			subject := fmt.Sprintf("cus_%05d", seq%10000)
			items[j].Event = sinktest.Event(subject, "customer.updated", fmt.Sprintf("evt_%08d", seq),
				sinktest.T0.Add(time.Duration(seq)*time.Second), strings.Replace(benchCustomer, "cus_id", subject, 1))
			seq++
		}
		return items
	}
	if err := s.Write(ctx, sinktest.Event("cus_warm", "customer.created", "evt_warm", sinktest.T0, `{}`)); err != nil {
		b.Fatal(err) // creates the table before the clock starts
	}
	events := 0
	for b.Loop() {
		items := next()
		if size == 1 {
			if _, err := s.Apply(ctx, items[0].Event); err != nil {
				b.Fatal(err)
			}
		} else {
			for _, o := range s.ApplyBatch(ctx, items) {
				if o.Err != nil {
					b.Fatal(o.Err)
				}
			}
		}
		events += size
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// benchCustomer is the data.object of a customer.updated event as Stripe sends it (API
// 2023-10-16), about 900 bytes.
const benchCustomer = `{"id":"cus_id","object":"customer","address":{"city":"Lyon","country":"FR",` +
	`"line1":"12 rue de la République","line2":null,"postal_code":"69002","state":null},"balance":0,` +
	`"created":1709294400,"currency":"eur","default_source":null,"delinquent":false,` +
	`"description":"Customer for the benchmark","discount":null,"email":"jenny.rosen@example.com",` +
	`"invoice_prefix":"7D1F9E2A","invoice_settings":{"custom_fields":null,"default_payment_method":` +
	`"pm_1OpQz2LkdIwHu7ixQ0fLw3xP","footer":null,"rendering_options":null},"livemode":false,` +
	`"metadata":{"crm_id":"A-10293","plan":"pro"},"name":"Jenny Rosen","next_invoice_sequence":4,` +
	`"phone":"+33612345678","preferred_locales":["fr","en"],"shipping":null,"tax_exempt":"none",` +
	`"test_clock":null}`
