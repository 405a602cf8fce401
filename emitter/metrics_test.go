package emitter_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// countsBy returns, per attribute set rendered as "k=v,k=v", the values of metric name: a sum's
// value or a histogram's count.
func countsBy(t *testing.T, r *sdkmetric.ManualReader, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	key := func(s attribute.Set) string {
		var parts []string
		for _, kv := range s.ToSlice() {
			parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
		}
		return strings.Join(parts, ",")
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					out[key(dp.Attributes)] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					out[key(dp.Attributes)] += int64(dp.Count)
				}
			}
		}
	}
	return out
}

// Every delivery is counted once by outcome and reason and timed once; refusals are logged at
// WARN, rate-limited per reason, without the body.
func TestDeliveryMetricsAndRefusalLogs(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	var logs testenv.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil)) // INFO: no debug needed to see refusals

	forged := errors.New("no signature matched (tried 1 secrets)")
	src := sourceFunc(func(h http.Header, b []byte) (hookline.Event, error) {
		switch h.Get("X-Kind") {
		case "forged":
			return hookline.Event{}, &emitter.RejectError{Status: http.StatusBadRequest, Reason: "invalid signature", Err: forged}
		case "skip":
			return hookline.Event{}, emitter.ErrSkip
		}
		return hookline.Event{ID: h.Get("X-Id"), Source: "test", Type: "thing.happened", Data: b}, nil
	})
	var failing bool
	var mu sync.Mutex
	dst := senderFunc(func(ctx context.Context, ev hookline.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return errors.New("broker away")
		}
		return nil
	})
	srv := newServer(t, src, dst, &emitter.HandlerOptions{Logger: log, MeterProvider: mp})
	post := func(kind, id, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-Kind", kind)
		req.Header.Set("X-Id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post("", "evt_1", "{}")
	post("", "evt_2", "{}")
	for range 3 {
		post("forged", "", `{"secret-looking":"whsec_body_content"}`)
	}
	post("skip", "", "{}")
	mu.Lock()
	failing = true
	mu.Unlock()
	post("", "evt_3", "{}")
	if resp, err := http.Get(srv.URL); err == nil {
		resp.Body.Close()
	}

	got := countsBy(t, reader, "hookline.webhook.deliveries")
	want := map[string]int64{
		"hookline.outcome=accepted,http.response.status_code=200":                                       2,
		"hookline.outcome=refused,hookline.reason=invalid signature,http.response.status_code=400":      3,
		"hookline.outcome=skipped,http.response.status_code=200":                                        1,
		"hookline.outcome=failed,hookline.reason=temporarily unavailable,http.response.status_code=503": 1,
		"hookline.outcome=refused,hookline.reason=method not allowed,http.response.status_code=405":     1,
	}
	if len(got) != len(want) {
		t.Errorf("deliveries: got %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("deliveries{%s} = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	var requests int64
	for k, n := range countsBy(t, reader, "http.server.request.duration") {
		requests += n
		if !strings.Contains(k, "http.request.method=") || !strings.Contains(k, "url.scheme=http") {
			t.Errorf("request duration attributes %q lack the method or scheme", k)
		}
		if strings.Contains(k, "status_code=503") != strings.Contains(k, "error.type=") {
			t.Errorf("request duration attributes %q: error.type belongs to 5xx answers only", k)
		}
	}
	if requests != 8 {
		t.Errorf("http.server.request.duration counted %d requests, want 8", requests)
	}

	out := logs.String()
	if n := strings.Count(out, `reason="invalid signature"`); n != 1 {
		t.Errorf("three forged deliveries within the interval logged %d times, want 1:\n%s", n, out)
	}
	for _, want := range []string{"level=WARN", "emitter: delivery refused", "status=400", "no signature matched",
		`reason="method not allowed"`, "level=ERROR", "event_id=evt_3"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "whsec_body_content") {
		t.Errorf("a refusal log quotes the body:\n%s", out)
	}
}

// senderFunc adapts a function to emitter.Sender.
type senderFunc func(context.Context, hookline.Event) error

func (f senderFunc) Send(ctx context.Context, ev hookline.Event) error { return f(ctx, ev) }
