package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

// BenchmarkRecover10000 recovers 10,000 events (about 2 KB each, 5,000 customers, several per
// second) from the Stripe Events API double into SQLite through the in-process channel, as
// `hookline recover` does, and reports events/s and the seconds the run took:
//
//	go test -run '^$' -bench Recover10000 -benchtime 1x ./cmd/hookline
func BenchmarkRecover10000(b *testing.B) {
	const n = 10000
	srv := stripeapi.Start(b, nil)
	base := time.Now().Add(-20 * time.Hour).Truncate(time.Second)
	for i := range n {
		srv.AddEvent(stripeapi.NewEvent("customer.updated", fmt.Sprintf("cus_bench_%05d", i%5000), base.Add(time.Duration(i/4)*time.Second)))
	}
	for b.Loop() {
		db := filepath.Join(b.TempDir(), "recover.db")
		env := map[string]string{"STRIPE_API_KEY": srv.Key(), "STRIPE_API_BASE": srv.URL(), "HOOKLINE_SINK": "sqlite://" + db}
		var out, log bytes.Buffer
		start := time.Now()
		if err := run(b.Context(), []string{"recover", "--since", "21h"}, func(k string) string { return env[k] }, &out, &log); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		if !strings.HasPrefix(out.String(), fmt.Sprintf("%d events listed, %d sent", n, n)) {
			b.Fatalf("stdout %q", out.String())
		}
		b.ReportMetric(float64(n)/took.Seconds(), "events/s")
		b.ReportMetric(took.Seconds(), "s/run")
	}
}
