package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/channel/rabbitsetup"
	"github.com/hookline/hookline/internal/testsupport/rabbittest"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// BenchmarkDrainDataverse10000 puts a backlog of 10,000 customer events (2,000 customers, five
// events each) into a RabbitMQ queue with `hookline recover`, then drains it with the consumer
// as `hookline serve` runs it into the Dataverse sink, against the Web API double with 50 ms
// of latency per request, 20 ms of execution per operation (a $batch runs its operations one
// after the other) and Dataverse's documented service protection limits (6,000 requests and
// 1,200 s of execution time per 5 minutes, 52 concurrent requests) at that execution cost. It reports the seconds from the consumer's start until every customer's
// row holds its newest event, the requests and operations the double served, and how many it
// refused with 429. HOOKLINE_BENCH_DRAIN_FOR (default 20m) bounds the drain; a drain cut short
// reports what it stored by then. HOOKLINE_BENCH_DATAVERSE_PARAMS adds URL parameters to the
// sink's (batch=50&concurrency=32).
//
//	go test -run '^$' -bench DrainDataverse10000 -benchtime 1x ./cmd/hookline
func BenchmarkDrainDataverse10000(b *testing.B) {
	const n, customers = 10000, 2000
	limit := 20 * time.Minute
	if v := os.Getenv("HOOKLINE_BENCH_DRAIN_FOR"); v != "" {
		var err error
		if limit, err = time.ParseDuration(v); err != nil {
			b.Fatal(err)
		}
	}
	extra := "" // more URL parameters of the sink, e.g. &batch=50&concurrency=32
	if v := os.Getenv("HOOKLINE_BENCH_DATAVERSE_PARAMS"); v != "" {
		extra = "&" + strings.TrimPrefix(v, "&")
	}
	api := stripeapi.Start(b, nil)
	base := time.Now().Add(-20 * time.Hour).Truncate(time.Second)
	newest := make(map[string]string, customers)
	for i := range n {
		cus := fmt.Sprintf("cus_drain_%04d", i%customers)
		ev := stripeapi.NewEvent("customer.updated", cus, base.Add(time.Duration(i/customers)*time.Minute))
		api.AddEvent(ev)
		newest[cus] = ev.ID()
	}
	server := rabbittest.Server(b)
	for b.Loop() {
		queue := rabbittest.Declare(b, server, "drain-dataverse", rabbitsetup.Options{})
		env := map[string]string{"STRIPE_API_KEY": api.Key(), "STRIPE_API_BASE": api.URL(), "HOOKLINE_CHANNEL": "rabbitmq://" + queue}
		var out, log bytes.Buffer
		if err := run(b.Context(), []string{"recover", "--since", "21h"}, func(k string) string { return env[k] }, &out, &log); err != nil {
			b.Fatalf("recover: %v\n%s", err, log.String())
		}
		if !strings.HasPrefix(out.String(), fmt.Sprintf("%d events listed, %d sent", n, n)) {
			b.Fatalf("recover: %q", out.String())
		}

		dv := dataversetest.New(&dataversetest.Options{Latency: 50 * time.Millisecond,
			OperationLatency: 20 * time.Millisecond, Limits: &dataversetest.Limits{ExecutionCost: 20 * time.Millisecond}})
		s, err := dataverse.Open(b.Context(), "dataverse://org.crm.dynamics.com?key=new_stripecustomerid"+
			"&eventtime=new_stripeeventcreated&eventid=new_stripeeventid&endpoint="+dv.URL()+extra, &dataverse.Options{Token: "t"})
		if err != nil {
			b.Fatal(err)
		}
		recv, err := channel.OpenReceiver(b.Context(), "rabbitmq://"+queue, nil)
		if err != nil {
			b.Fatal(err)
		}
		c, err := pipeline.NewConsumer(recv, s, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- c.Run(ctx) }()
		stored := 0
		for stored < customers && time.Since(start) < limit {
			time.Sleep(100 * time.Millisecond)
			stored = 0
			for _, r := range dv.Rows("contacts") {
				id, _, _ := strings.Cut(fmt.Sprint(r.Columns["new_stripeeventid"]), " ")
				if cus, _ := r.Columns["new_stripecustomerid"].(string); newest[cus] == id {
					stored++
				}
			}
		}
		took := time.Since(start)
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			b.Error(err)
		}
		stats := c.Stats()
		recv.Shutdown(context.Background())
		s.Close()
		dv.Close()
		b.ReportMetric(took.Seconds(), "s/drain")
		b.ReportMetric(float64(stats.Acked)/took.Seconds(), "events/s")
		b.ReportMetric(float64(dv.TotalRequests()), "requests")
		b.ReportMetric(float64(dv.Operations()), "operations")
		b.ReportMetric(float64(dv.Throttled()), "throttled")
		b.ReportMetric(float64(stored), "newest-stored")
		b.ReportMetric(float64(stats.Acked), "acked")
		if stored < customers {
			b.Logf("cut short after %v: %d of %d customers hold their newest event, %d of %d events acknowledged",
				took, stored, customers, stats.Acked, n)
		}
	}
}
