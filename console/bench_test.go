package console_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/emitter/stripehook"
)

// BenchmarkRecord measures what the pipeline adds per event when a console is attached: telling
// it of the event accepted and of its delivery stored, with a ~2 KB Stripe payload, once the
// store is full (every event evicts the oldest).
func BenchmarkRecord(b *testing.B) {
	con, err := console.New(console.Options{Token: token})
	if err != nil {
		b.Fatal(err)
	}
	data := stripehook.SampleEvent("customer.updated", "cus_bench", time.Now())
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			ev := hookline.Event{ID: "evt_" + strconv.Itoa(i) + "_" + strconv.FormatInt(time.Now().UnixNano(), 36),
				Type: "customer.updated", Subject: "cus_bench", Time: time.Now(), Data: data}
			con.Accepted(ctx, ev)
			con.Settled(ctx, channel.Settled{Event: ev, Delivery: 1, Outcome: channel.OutcomeStored,
				Attempts: []channel.Attempt{{Took: time.Millisecond}}, At: time.Now()})
		}
	})
	if n := con.RecentEvents(); n > console.DefaultRecent {
		b.Fatalf("the console holds %d events, more than %d", n, console.DefaultRecent)
	}
}
