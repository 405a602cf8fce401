package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel/deadletter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/route"
	"github.com/hookline/hookline/sink"
)

// flaky fails the events about subject with code, failures times (forever when negative), and
// writes everything else to the memory.
type flaky struct {
	*sink.Memory
	subject  string
	code     hookline.ErrorCode
	failures atomic.Int64
}

func (f *flaky) Apply(ctx context.Context, ev hookline.Event) (sink.Result, error) {
	if n := f.failures.Load(); ev.Subject == f.subject && n != 0 {
		if n > 0 {
			f.failures.Add(-1)
		}
		return sink.Ignored, hookline.Errorf(f.code, "sink: %s refused", ev.Subject)
	}
	return f.Memory.Apply(ctx, ev)
}

// ApplyBatch applies each item with f.Apply: a wrapper that changes Apply must not inherit the
// Memory's own ApplyBatch.
func (f *flaky) ApplyBatch(ctx context.Context, items []sink.Item) []sink.Outcome {
	return sink.ApplyBatch(ctx, struct{ sink.Applier }{f}, items)
}

func (f *flaky) Write(ctx context.Context, ev hookline.Event) error {
	_, err := f.Apply(ctx, ev)
	return err
}

// routesHarness serves a pipeline of routes over memory sinks and records its metrics.
type routesHarness struct {
	*harness
	sinks  map[string]*sink.Memory
	reader *sdkmetric.ManualReader
}

// startRoutes serves the routes of yaml; batch is Config.BatchSize (0 the default, 1 one event
// at a time).
func startRoutes(t *testing.T, yaml string, given map[string]sink.Sink, batch int) *routesHarness {
	t.Helper()
	cfg, err := route.Parse([]byte(yaml), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &routesHarness{harness: &harness{t: t, secret: stripehook.GenerateSecret(), done: make(chan error, 1), logs: &lockedBuffer{}},
		sinks: map[string]*sink.Memory{}, reader: sdkmetric.NewManualReader()}
	all := map[string]sink.Sink{}
	for _, r := range cfg.Routes {
		if s, ok := given[r.Name]; ok {
			all[r.Name] = s
			continue
		}
		h.sinks[r.Name] = sink.NewMemory()
		all[r.Name] = h.sinks[r.Name]
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	dl := fmt.Sprintf("inproc://routes-dl-%d", seq.Add(1))
	opts := &Options{Sinks: all, MeterProvider: mp, Logger: slog.New(slog.NewTextHandler(h.logs, nil))}
	serveWith(t, h.harness, Config{Channel: inProcessURL("inproc"), DeadLetter: dl, Routes: cfg, Secrets: []string{h.secret},
		BatchSize: batch}, opts)
	return h
}

func (h *routesHarness) send(typ, subject string, created time.Time) {
	h.t.Helper()
	body := stripehook.SampleEvent(typ, subject, created)
	status, err := postSigned(context.Background(), http.DefaultClient, h.url, body, stripehook.Sign(body, h.secret, time.Now()))
	if err != nil || status != http.StatusOK {
		h.t.Fatalf("webhook answered %d, %v", status, err)
	}
}

// routeCounts reads hookline.route.events by route and outcome.
func (h *routesHarness) routeCounts() map[string]int64 {
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "hookline.route.events" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				r, _ := dp.Attributes.Value("hookline.route")
				o, _ := dp.Attributes.Value("hookline.outcome")
				out[r.AsString()+"/"+o.AsString()] += dp.Value
			}
		}
	}
	return out
}

const routesYAML = `routes:
  - name: customers
    types: ["customer.*"]
    sink: discard://
  - name: test-mode
    filter: event.data.livemode == false && event.metadata["livemode"] == "false" && event.type.startsWith("customer.")
    sink: discard://
  - name: invoices
    types: [invoice.paid]
    sink: discard://
`

// bothConsumers runs test with the batch consumer (the default for batch sinks) and with one
// that writes an event at a time (HOOKLINE_BATCH_SIZE=1).
func bothConsumers(t *testing.T, test func(t *testing.T, batch int)) {
	t.Run("batches", func(t *testing.T) { test(t, 0) })
	t.Run("one at a time", func(t *testing.T) { test(t, 1) })
}

// Each event goes to every route that matches it (types, then the filter), once; one that no
// route matches is acknowledged and counted as unrouted.
func TestRoutesDeliverToEveryMatchingRoute(t *testing.T) { bothConsumers(t, testRoutesDeliver) }

func testRoutesDeliver(t *testing.T, batch int) {
	h := startRoutes(t, routesYAML, nil, batch)
	now := time.Now().Truncate(time.Second)
	h.send("customer.updated", "cus_1", now)
	h.send("invoice.paid", "in_1", now)
	h.send("charge.succeeded", "ch_1", now)
	waitUntil(t, func() bool { return strings.Count(h.logs.String(), "msg=\"event ") == 3 })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"customers": {"cus_1"}, "test-mode": {"cus_1"}, "invoices": {"in_1"}} {
		var got []string
		for _, r := range h.sinks[name].Records() {
			got = append(got, r.Event.Subject)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || h.sinks[name].Applied() != 1 {
			t.Errorf("route %s holds %v, want %v once", name, got, want)
		}
	}
	got := h.routeCounts()
	want := map[string]int64{"customers/stored": 1, "test-mode/stored": 1, "invoices/stored": 1, "/unrouted": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("hookline.route.events %s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if !strings.Contains(h.logs.String(), `msg="event unrouted: no route matches it" event_id=`) {
		t.Errorf("the unrouted event is not logged:\n%s", h.logs.String())
	}
}

// A route that fails permanently dead-letters the event with the route's name in the reason;
// the routes before it stored it. A transient failure retries the event, and the routes that
// had stored it ignore it the second time.
func TestRouteFailures(t *testing.T) { bothConsumers(t, testRouteFailures) }

func testRouteFailures(t *testing.T, batch int) {
	broken := &flaky{Memory: sink.NewMemory(), subject: "cus_perm", code: hookline.Permanent}
	broken.failures.Store(-1)
	shaky := &flaky{Memory: sink.NewMemory(), subject: "cus_flaky", code: hookline.Transient}
	shaky.failures.Store(1)
	yaml := `routes:
  - {name: first, sink: "discard://"}
  - {name: second, sink: "discard://"}
`
	h := startRoutes(t, yaml, map[string]sink.Sink{"second": broken}, batch)
	now := time.Now().Truncate(time.Second)
	h.send("customer.updated", "cus_perm", now)
	waitUntil(t, func() bool { return strings.Contains(h.logs.String(), `msg="event dead-lettered"`) })
	if !strings.Contains(h.logs.String(), `reason="route \"second\": sink: cus_perm refused"`) {
		t.Errorf("the dead letter's reason does not name the route:\n%s", h.logs.String())
	}
	if h.sinks["first"].Applied() != 1 || broken.Len() != 0 {
		t.Errorf("first stored %d, second %d: want 1 and 0", h.sinks["first"].Applied(), broken.Len())
	}
	if got := h.routeCounts(); got["first/stored"] != 1 || got["second/failed"] != 1 {
		t.Errorf("hookline.route.events = %v", got)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	h2 := startRoutes(t, yaml, map[string]sink.Sink{"second": shaky}, batch)
	h2.send("customer.updated", "cus_flaky", now)
	waitUntil(t, func() bool { return shaky.Len() == 1 })
	if err := h2.stop(); err != nil {
		t.Fatal(err)
	}
	first := h2.sinks["first"]
	if first.Applied() != 1 || first.Writes() != 2 {
		t.Errorf("first applied %d of %d writes: want the retry ignored (1 of 2)", first.Applied(), first.Writes())
	}
}

// A configuration that can never work stops Open: an expression that does not compile, a map
// for a sink that keeps whole events.
func TestRoutesRefusedAtOpen(t *testing.T) {
	for name, c := range map[string]struct{ yaml, want string }{
		"bad filter":    {"routes:\n  - {name: a, sink: \"discard://\", filter: \"event.typo == 1\"}\n", "test.yaml:2"},
		"map to a sink": {"routes:\n  - name: a\n    sink: \"discard://\"\n    map: {x: event.id}\n", "takes no map"},
	} {
		cfg, err := route.Parse([]byte(c.yaml), "test.yaml", nil)
		if err == nil {
			_, err = Open(context.Background(), Config{Channel: inProcessURL("inproc"), Routes: cfg, Secrets: []string{"whsec_x"}}, nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
}

// A dead letter of a route's failure, replayed once the route is fixed, runs the routes again:
// the route that had stored it ignores it, the fixed one stores it.
func TestRouteFailureReplayed(t *testing.T) {
	broken := &flaky{Memory: sink.NewMemory(), subject: "cus_replay", code: hookline.Permanent}
	broken.failures.Store(-1)
	first := sink.NewMemory()
	cfg, err := route.Parse([]byte("routes:\n  - {name: first, sink: \"discard://\"}\n  - {name: second, sink: \"discard://\"}\n"), "t.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, secret: stripehook.GenerateSecret(), done: make(chan error, 1), logs: &lockedBuffer{}}
	con := &settledConsole{}
	p, err := Open(context.Background(), Config{Channel: inProcessURL("inproc"), Routes: cfg, Secrets: []string{h.secret}},
		&Options{Sinks: map[string]sink.Sink{"first": first, "second": broken}, Console: con})
	if err != nil {
		t.Fatal(err)
	}
	serveOpened(t, h, p)
	h.post("cus_replay", time.Now())
	waitUntil(t, func() bool { return con.deadLettered.Load() == 1 })
	broken.failures.Store(0)
	res, err := deadletter.ReplayTo(context.Background(), p.DeadLetters(), p.Sender(), &deadletter.Options{Wait: 100 * time.Millisecond})
	if err != nil || res.Replayed != 1 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	waitUntil(t, func() bool { return broken.Len() == 1 })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if first.Applied() != 1 || first.Writes() != 2 {
		t.Errorf("first applied %d of %d writes, want 1 of 2 (the replay ignored)", first.Applied(), first.Writes())
	}
}

// batchCounter is a Memory sink that records the size of each batch it is given.
type batchCounter struct {
	*sink.Memory
	mu      sync.Mutex
	largest int
}

func (b *batchCounter) ApplyBatch(ctx context.Context, items []sink.Item) []sink.Outcome {
	b.mu.Lock()
	b.largest = max(b.largest, len(items))
	b.mu.Unlock()
	return b.Memory.ApplyBatch(ctx, items)
}

// Under load the routes write batches: 400 events about 100 customers and 50 invoices, sent at
// once in a shuffled order, end with each route's sink holding the newest event of each of its
// subjects, and every event counted once per route that matched it.
func TestRoutesBatchesUnderLoad(t *testing.T) {
	customers := &batchCounter{Memory: sink.NewMemory()}
	yaml := `routes:
  - {name: customers, types: ["customer.*"], sink: "discard://"}
  - {name: all, sink: "discard://"}
`
	h := startRoutes(t, yaml, map[string]sink.Sink{"customers": customers}, 0)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	type delivery struct {
		typ, subject string
		at           time.Time
	}
	var all []delivery
	for i := range 100 {
		for j := range 3 {
			all = append(all, delivery{"customer.updated", fmt.Sprintf("cus_%03d", i), t0.Add(time.Duration(j) * time.Second)})
		}
	}
	for i := range 50 {
		for j := range 2 {
			all = append(all, delivery{"invoice.paid", fmt.Sprintf("in_%03d", i), t0.Add(time.Duration(j) * time.Second)})
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	work := make(chan delivery)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for d := range work {
				h.send(d.typ, d.subject, d.at)
			}
		})
	}
	for _, d := range all {
		work <- d
	}
	close(work)
	wg.Wait()
	waitUntil(t, func() bool { return h.routeCounts()["all/stored"]+h.routeCounts()["all/ignored"] == int64(len(all)) })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	newest := t0.Add(2 * time.Second)
	for i := range 100 {
		r, ok := customers.Get(fmt.Sprintf("cus_%03d", i))
		if !ok || !r.Event.Time.Equal(newest) {
			t.Fatalf("customers holds %+v for cus_%03d, want its newest event (%v)", r.Event, i, newest)
		}
	}
	if n := h.sinks["all"].Len(); n != 150 {
		t.Errorf("route all holds %d subjects, want 150", n)
	}
	got := h.routeCounts()
	if c := got["customers/stored"] + got["customers/ignored"]; c != 300 || got["customers/stored"] < 100 {
		t.Errorf("route customers counted %d events (%v), want 300, at least 100 stored", c, got)
	}
	customers.mu.Lock()
	defer customers.mu.Unlock()
	if customers.largest < 2 {
		t.Errorf("the largest batch the customers route wrote held %d events, want batches under load", customers.largest)
	}
}
