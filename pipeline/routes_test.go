package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
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

func startRoutes(t *testing.T, yaml string, given map[string]sink.Sink) *routesHarness {
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
	serveWith(t, h.harness, Config{Channel: inProcessURL("inproc"), DeadLetter: dl, Routes: cfg, Secrets: []string{h.secret}}, opts)
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

// Each event goes to every route that matches it (types, then the filter), once; one that no
// route matches is acknowledged and counted as unrouted.
func TestRoutesDeliverToEveryMatchingRoute(t *testing.T) {
	h := startRoutes(t, routesYAML, nil)
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
func TestRouteFailures(t *testing.T) {
	broken := &flaky{Memory: sink.NewMemory(), subject: "cus_perm", code: hookline.Permanent}
	broken.failures.Store(-1)
	shaky := &flaky{Memory: sink.NewMemory(), subject: "cus_flaky", code: hookline.Transient}
	shaky.failures.Store(1)
	yaml := `routes:
  - {name: first, sink: "discard://"}
  - {name: second, sink: "discard://"}
`
	h := startRoutes(t, yaml, map[string]sink.Sink{"second": broken})
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

	h2 := startRoutes(t, yaml, map[string]sink.Sink{"second": shaky})
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
