package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/sink"
)

var seq atomic.Int64

type harness struct {
	t      *testing.T
	url    string
	secret string
	cancel context.CancelFunc
	done   chan error
	logs   *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// start serves the local wiring on a loopback port with s as its sink.
func start(t *testing.T, s sink.Sink, tune func(*Config, *Options)) *harness {
	t.Helper()
	h := &harness{t: t, secret: stripehook.GenerateSecret(), done: make(chan error, 1), logs: &lockedBuffer{}}
	cfg := Config{Channel: fmt.Sprintf("mem://pipeline-test-%d", seq.Add(1)), Sink: "discard://", Secrets: []string{h.secret}}
	opts := &Options{
		Logger:   slog.New(slog.NewTextHandler(h.logs, nil)),
		WrapSink: func(sink.Sink) sink.Sink { return s },
		Consumer: nil,
	}
	if tune != nil {
		tune(&cfg, opts)
	}
	return serveWith(t, h, cfg, opts)
}

// serveWith opens the local wiring with cfg and opts and serves it on a loopback port for h.
func serveWith(t *testing.T, h *harness, cfg Config, opts *Options) *harness {
	app, err := Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return serveOpened(t, h, app)
}

// serveOpened serves app on a loopback port for h.
func serveOpened(t *testing.T, h *harness, app *Pipeline) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + ln.Addr().String() + "/webhook"
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- app.Serve(ctx, ln) }()
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	return <-h.done
}

func (h *harness) post(customer string, created time.Time) int {
	h.t.Helper()
	body := stripehook.SampleEvent("customer.updated", customer, created)
	status, err := postSigned(context.Background(), http.DefaultClient, h.url, body, stripehook.Sign(body, h.secret, time.Now()))
	if err != nil {
		h.t.Fatal(err)
	}
	return status
}

// A full backlog makes the webhook push back with 503 instead of queueing without bound, and
// nothing accepted is lost.
func TestBacklogPushesBack(t *testing.T) { forEachInProcessScheme(t, testBacklogPushesBack) }

func testBacklogPushesBack(t *testing.T, scheme string) {
	release := make(chan struct{})
	mem := sink.NewMemory()
	blocked := sink.Func(func(ctx context.Context, ev hookline.Event) error {
		<-release
		return mem.Write(ctx, ev)
	})
	h := start(t, blocked, func(c *Config, o *Options) {
		c.Channel = inProcessURL(scheme)
		c.MaxPending = 2
		o.Handler = &emitter.HandlerOptions{SendTimeout: 100 * time.Millisecond}
	})
	now := time.Now()
	for i := range 2 {
		if s := h.post(fmt.Sprintf("cus_%d", i), now); s != http.StatusOK {
			t.Fatalf("event %d answered %d, want 200", i, s)
		}
	}
	if s := h.post("cus_2", now); s != http.StatusServiceUnavailable {
		t.Fatalf("third event with a full backlog answered %d, want 503", s)
	}
	close(release)
	if err := mem.Wait(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if s := h.post("cus_2", now); s != http.StatusOK {
		t.Fatalf("after the backlog drained, answered %d, want 200", s)
	}
	if err := mem.Wait(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
}

// Shutdown waits until every accepted event has reached the sink.
func TestShutdownLosesNothingInFlight(t *testing.T) {
	forEachInProcessScheme(t, testShutdownLosesNothingInFlight)
}

func testShutdownLosesNothingInFlight(t *testing.T, scheme string) {
	mem := sink.NewMemory()
	slow := sink.Func(func(ctx context.Context, ev hookline.Event) error {
		time.Sleep(5 * time.Millisecond)
		return mem.Write(ctx, ev)
	})
	h := start(t, slow, func(c *Config, o *Options) {
		c.Channel = inProcessURL(scheme)
		o.Consumer = nil
	})
	const n = 40
	now := time.Now()
	for i := range n {
		if s := h.post(fmt.Sprintf("cus_%d", i), now); s != http.StatusOK {
			t.Fatalf("answered %d", s)
		}
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if mem.Len() != n {
		t.Fatalf("after shutdown the sink has %d of %d accepted events", mem.Len(), n)
	}
}

// A permanent failure ends on the in-process dead-letter topic and is logged at ERROR, once,
// with its reason: read from the topic without a console, and as the consumer settles it with
// one (the console keeps the topic's messages for replay).
func TestDeadLettersAreLogged(t *testing.T) {
	forEachInProcessScheme(t, func(t *testing.T, scheme string) {
		t.Run("without a console", func(t *testing.T) { testDeadLettersAreLogged(t, scheme, nil) })
		t.Run("with a console", func(t *testing.T) { testDeadLettersAreLogged(t, scheme, &settledConsole{}) })
	})
}

func testDeadLettersAreLogged(t *testing.T, scheme string, con *settledConsole) {
	failing := sink.Func(func(context.Context, hookline.Event) error {
		return hookline.Errorf(hookline.Permanent, "sink: row rejected: email is not valid")
	})
	h := start(t, failing, func(c *Config, o *Options) {
		c.Channel = inProcessURL(scheme)
		if con != nil {
			o.Console = con
		}
	})
	if s := h.post("cus_bad", time.Now()); s != http.StatusOK {
		t.Fatalf("answered %d", s)
	}
	const line = `level=ERROR msg="event dead-lettered"`
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(h.logs.String(), line) {
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter logged at ERROR:\n%s", h.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	logs := h.logs.String()
	if n := strings.Count(logs, line); n != 1 || !strings.Contains(logs, "email is not valid") || !strings.Contains(logs, "event_subject=cus_bad") {
		t.Errorf("%d ERROR lines for one dead letter, want 1 with its reason and subject:\n%s", n, logs)
	}
	if con != nil && con.deadLettered.Load() != 1 {
		t.Errorf("the console was told of %d dead letters, want 1", con.deadLettered.Load())
	}
}

// settledConsole is the least pipeline.Console: it counts the dead letters it is told of.
type settledConsole struct{ deadLettered atomic.Int64 }

func (c *settledConsole) Attach(*Pipeline) error                           { return nil }
func (c *settledConsole) Accepted(context.Context, hookline.Event)         {}
func (c *settledConsole) Close(context.Context) error                      { return nil }
func (c *settledConsole) ServeHTTP(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (c *settledConsole) Settled(_ context.Context, s channel.Settled) {
	if s.Outcome == channel.OutcomeDeadLettered {
		c.deadLettered.Add(1)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	c, err := ConfigFromEnv(get)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.Channel != DefaultChannel || c.Subscription != DefaultChannel ||
		c.Sink != DefaultSink || c.DeadLetter != "mem://stripe-events-deadletter" || !c.SecretGenerated ||
		!strings.HasPrefix(c.Secrets[0], "whsec_") {
		t.Errorf("defaults = %+v", c)
	}
	env = map[string]string{"PORT": "9000", "HOOKLINE_CHANNEL": "rabbit://stripe", "HOOKLINE_SUBSCRIPTION": "rabbit://stripe-q",
		"HOOKLINE_SINK": "postgres://db/x", "STRIPE_WEBHOOK_SECRET": " whsec_a , whsec_b "}
	c, err = ConfigFromEnv(get)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.Subscription != "rabbit://stripe-q" || c.DeadLetter != "" ||
		c.SecretGenerated || len(c.Secrets) != 2 || c.Secrets[1] != "whsec_b" || c.BatchSize != 0 || c.BatchWait != 0 {
		t.Errorf("config = %+v", c)
	}
	env = map[string]string{"HOOKLINE_BATCH_SIZE": "250", "HOOKLINE_BATCH_WAIT": "25ms"}
	if c, err = ConfigFromEnv(get); err != nil || c.BatchSize != 250 || c.BatchWait != 25*time.Millisecond {
		t.Errorf("batch settings: %d, %v, %v; want 250, 25ms", c.BatchSize, c.BatchWait, err)
	}
	for k, v := range map[string]string{"HOOKLINE_BATCH_SIZE": "0", "HOOKLINE_BATCH_WAIT": "25"} {
		env = map[string]string{k: v}
		if _, err := ConfigFromEnv(get); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming the variable", k, v, err)
		}
	}
}

func TestOpenReportsBadURLs(t *testing.T) {
	for _, cfg := range []Config{
		{Channel: "nosuch://x", Sink: "discard://", Secrets: []string{"whsec_x"}},
		{Channel: "mem://pipeline-bad-sink", Sink: "nosuch://x", Secrets: []string{"whsec_x"}},
		{Channel: "mem://pipeline-no-secret", Sink: "discard://"},
	} {
		if _, err := Open(context.Background(), cfg, nil); err == nil {
			t.Errorf("Open(%+v) succeeded", cfg)
		} else if errors.Is(err, context.Canceled) {
			t.Errorf("unexpected error %v", err)
		}
	}
}

// The wiring serves the liveness and readiness probes of httpserver.
func TestProbes(t *testing.T) {
	h := start(t, sink.NewMemory(), nil)
	base := strings.TrimSuffix(h.url, "/webhook")
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

// postSigned posts body with the Stripe-Signature header signature and returns the status.
func postSigned(ctx context.Context, client *http.Client, url string, body []byte, signature string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set(stripehook.SignatureHeader, signature)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// A configuration that can never work is found before anything connects, and the error says what
// to fix: the variable at fault and, for a scheme no linked driver serves, what to import.
func TestCheckFindsWhatCanNeverWork(t *testing.T) {
	good := Config{Channel: "mem://pipeline-check", Sink: "discard://", Secrets: []string{"whsec_x"}}
	if err := good.Check(); err != nil {
		t.Fatalf("Check(%+v) = %v", good, err)
	}
	for name, tc := range map[string]struct {
		mutate func(*Config)
		want   []string
	}{
		"no secret":       {func(c *Config) { c.Secrets = nil }, []string{stripehook.EnvSecret}},
		"unlinked broker": {func(c *Config) { c.Channel = "kafka://orders" }, []string{EnvChannel, "kafka://", `import _ "gocloud.dev/pubsub/kafkapubsub"`}},
		"malformed":       {func(c *Config) { c.Channel = "stripe-events" }, []string{EnvChannel, "not a topic URL"}},
		"subscription":    {func(c *Config) { c.Subscription = "nats://x" }, []string{EnvSubscription, "nats://"}},
		"dead letter":     {func(c *Config) { c.DeadLetter = "kafka://dl" }, []string{EnvDeadLetter, "kafka://"}},
		"unlinked sink":   {func(c *Config) { c.Sink = "mongodb://db" }, []string{EnvSink, "mongodb://", "discard://"}},
		"secret in URL":   {func(c *Config) { c.Sink = "nosuch://u:hunter2@db" }, []string{EnvSink}},
		"unlinked source": {func(c *Config) { c.Source = "standardwebhooks://" }, []string{EnvSource, `import _ "github.com/hookline/hookline/emitter/standardwebhooks"`}},
		"source option":   {func(c *Config) { c.Source = "stripe://?types=a*b" }, []string{EnvSource, "a*b"}},
		"source host":     {func(c *Config) { c.Source = "stripe://api.stripe.com" }, []string{EnvSource, "takes no host"}},
	} {
		c := good
		tc.mutate(&c)
		err := c.Check()
		if err == nil {
			t.Errorf("%s: Check accepted %+v", name, c)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", name, err, w)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %q shows a password", name, err)
		}
		if _, oerr := Open(context.Background(), c, nil); oerr == nil || oerr.Error() != err.Error() {
			t.Errorf("%s: Open = %v, want the Check error %v", name, oerr, err)
		}
	}
}

// Two pipelines on the same mem:// URL, one after the other in one process (two unit tests, or
// one run with -count=2): the second works, and nothing accepted is lost.
func TestSameMemURLTwice(t *testing.T) {
	for round := range 2 {
		store := sink.NewMemory()
		h := start(t, store, func(c *Config, o *Options) { c.Channel = "mem://pipeline-same-url" })
		if status := h.post(fmt.Sprintf("cus_twice_%d", round), time.Now()); status != http.StatusOK {
			t.Fatalf("round %d: webhook answered %d", round, status)
		}
		if err := h.stop(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if store.Len() != 1 {
			t.Fatalf("round %d: stored %d events", round, store.Len())
		}
	}
}

// forEachInProcessScheme runs test once per in-process channel scheme: mem:// and inproc://.
func forEachInProcessScheme(t *testing.T, test func(t *testing.T, scheme string)) {
	for _, scheme := range []string{"mem", "inproc"} {
		t.Run(scheme, func(t *testing.T) { test(t, scheme) })
	}
}

// inProcessURL returns a fresh channel URL of scheme.
func inProcessURL(scheme string) string {
	return fmt.Sprintf("%s://pipeline-test-%d", scheme, seq.Add(1))
}
