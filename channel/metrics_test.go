package channel

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hookline/hookline"
)

// metered is a meter provider whose metrics a test reads with collect.
func metered(t *testing.T) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	return mp, r
}

// point is one data point of a sum or histogram: its value (a histogram's count) by attributes.
type point struct {
	attrs map[string]string
	value int64
	sum   float64
}

// collect returns the data points of every metric, by metric name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string][]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string][]point{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{attrs: attrsOf(dp.Attributes), value: dp.Value})
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{attrs: attrsOf(dp.Attributes), value: int64(dp.Count), sum: dp.Sum})
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					out[m.Name] = append(out[m.Name], point{attrs: attrsOf(dp.Attributes), value: dp.Value})
				}
			}
		}
	}
	return out
}

func attrsOf(s attribute.Set) map[string]string {
	m := map[string]string{}
	for _, kv := range s.ToSlice() {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

// total sums the points of name whose attributes include match.
func total(points map[string][]point, name string, match map[string]string) int64 {
	var n int64
next:
	for _, p := range points[name] {
		for k, v := range match {
			if p.attrs[k] != v {
				continue next
			}
		}
		n += p.value
	}
	return n
}

// A known mix of outcomes gives exactly these counts: every event once in consumed messages and
// process durations, each outcome in hookline.events, a lag for each stored event only.
func TestConsumerMetrics(t *testing.T) {
	mp, reader := metered(t)
	dest := fmt.Sprintf("metrics-%d", topicSeq.Add(1))
	s, err := OpenSender(context.Background(), "mem://"+dest, &SenderOptions{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenReceiver(context.Background(), "mem://"+dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	dlDest := dest + "-dl"
	dl, err := OpenSender(context.Background(), "mem://"+dlDest, &SenderOptions{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	dlRecv, err := OpenReceiver(context.Background(), "mem://"+dlDest, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		r.Shutdown(ctx)
		dlRecv.Shutdown(ctx)
		s.Shutdown(ctx)
		dl.Shutdown(ctx)
	})
	var flaky atomic.Int32
	c, err := NewConsumer(r, func(ctx context.Context, ev hookline.Event) error {
		switch ev.ID {
		case "evt_ignored":
			ReportIgnored(ctx)
		case "evt_flaky":
			if flaky.Add(1) == 1 {
				return hookline.Errorf(hookline.Transient, "first call fails")
			}
		case "evt_bad":
			return hookline.Errorf(hookline.Permanent, "never works")
		}
		return nil
	}, &ConsumerOptions{MeterProvider: mp, Sink: "memory", DeadLetter: dl, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, c)
	created := time.Now().Add(-time.Minute)
	for _, id := range []string{"evt_stored", "evt_ignored", "evt_flaky", "evt_bad"} {
		if err := s.Send(context.Background(), hookline.Event{ID: id, Source: "stripe", Type: "customer.updated", Time: created}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "four settled messages", func() bool { return c.Stats().Acked == 4 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	got := collect(t, reader)
	base := map[string]string{"messaging.destination.name": dest}
	checks := []struct {
		name  string
		match map[string]string
		want  int64
	}{
		{"messaging.client.sent.messages", map[string]string{"messaging.destination.name": dest, "messaging.operation.name": "send"}, 4},
		{"messaging.client.sent.messages", map[string]string{"messaging.destination.name": dlDest}, 1},
		{"messaging.client.operation.duration", base, 4},
		{"messaging.client.consumed.messages", base, 4},
		{"messaging.process.duration", base, 4},
		{"messaging.process.duration", map[string]string{"error.type": "permanent"}, 1},
		{"hookline.events", map[string]string{"hookline.outcome": OutcomeStored, "hookline.sink": "memory"}, 2},
		{"hookline.events", map[string]string{"hookline.outcome": OutcomeIgnored}, 1},
		{"hookline.events", map[string]string{"hookline.outcome": OutcomeRetried, "error.type": "transient"}, 1},
		{"hookline.events", map[string]string{"hookline.outcome": OutcomeDeadLettered, "error.type": "permanent"}, 1},
		{"hookline.events", map[string]string{"hookline.outcome": OutcomeReturned}, 0},
		{"hookline.event.lag", map[string]string{"hookline.sink": "memory"}, 2},
	}
	for _, c := range checks {
		if n := total(got, c.name, c.match); n != c.want {
			t.Errorf("%s%v = %d, want %d (points: %v)", c.name, c.match, n, c.want, got[c.name])
		}
	}
	for _, p := range got["hookline.event.lag"] {
		if mean := p.sum / float64(p.value); mean < 59 || mean > 600 {
			t.Errorf("mean lag %.1fs, want about 60s for events created a minute ago", mean)
		}
	}
	for _, p := range got["hookline.events"] {
		for k := range p.attrs {
			if k == "messaging.message.id" || k == "event_id" {
				t.Errorf("hookline.events carries %s: attribute values must come from small fixed sets", k)
			}
		}
	}
}

// A send that fails is counted with error.type, and returned to the caller.
func TestSendFailureMetrics(t *testing.T) {
	mp, reader := metered(t)
	dest := fmt.Sprintf("metrics-fail-%d", topicSeq.Add(1))
	s, err := OpenSender(context.Background(), "mem://"+dest, &SenderOptions{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, hookline.Event{ID: "evt_1", Source: "stripe", Type: "t"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("send with a canceled context: %v", err)
	}
	got := collect(t, reader)
	if n := total(got, "messaging.client.sent.messages", map[string]string{"error.type": "context.Canceled"}); n != 1 {
		t.Errorf("failed sends counted %d, want 1 (points: %v)", n, got["messaging.client.sent.messages"])
	}
}
