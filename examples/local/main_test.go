package main

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hookline/hookline/emitter/stripehook"
)

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestLocalExampleEndToEnd runs the example's main wiring as `go run ./examples/local` would,
// with the documented environment variables, and drives it over real HTTP: signed Stripe events
// must end as rows in stripe_objects, and SIGTERM (context cancellation) must shut it down
// cleanly. It runs on both in-process channels, the default mem:// and inproc://.
func TestLocalExampleEndToEnd(t *testing.T) {
	for _, channel := range []string{"mem://e2e-local", "inproc://e2e-local"} {
		t.Run(strings.SplitN(channel, ":", 2)[0], func(t *testing.T) { testLocalExample(t, channel) })
	}
}

func testLocalExample(t *testing.T, channel string) {
	port := freePort(t)
	db := filepath.Join(t.TempDir(), "hookline.db")
	secret := stripehook.GenerateSecret()
	env := map[string]string{
		"PORT": port, "HOOKLINE_SINK": "sqlite://" + db, "STRIPE_WEBHOOK_SECRET": "whsec_old," + secret,
		"HOOKLINE_CHANNEL": channel,
	}
	base, out, stop := startLocal(t, env)
	samples := postSamples(t, base, secret, out)
	// A forged delivery is refused and leaves no trace.
	forged := stripehook.SampleEvent("customer.created", "cus_forged", time.Now())
	req, _ := http.NewRequest(http.MethodPost, base+"/webhook", bytes.NewReader(forged))
	req.Header.Set("Stripe-Signature", stripehook.Sign(forged, "whsec_wrong", time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged delivery answered %d, want 400", resp.StatusCode)
	}

	stop() // what SIGINT/SIGTERM do
	rows := readRows(t, db)
	alice, bob := rows["cus_demo_alice"], rows["cus_demo_bob"]
	if alice.eventCreated != samples[1].Created.Unix() || alice.deleted || alice.object != "customer" {
		t.Errorf("alice = %+v; want the newest update (created %d), not deleted", alice, samples[1].Created.Unix())
	}
	if !strings.Contains(alice.data, `"cus_demo_alice"`) {
		t.Errorf("alice's data = %s", alice.data)
	}
	if !bob.deleted {
		t.Errorf("bob = %+v; want deleted", bob)
	}
	if _, ok := rows["cus_forged"]; ok || len(rows) != 2 {
		t.Errorf("rows = %v; want exactly alice and bob", rows)
	}
	// Six accepted deliveries, each logged once: stored if it changed a row, else ignored. The
	// channel keeps no order, so which are ignored varies, but Stripe's retry of one delivery
	// always finds its event already stored.
	stored := strings.Count(out.String(), `msg="event stored"`)
	ignored := strings.Count(out.String(), `msg="event ignored`)
	if stored+ignored != 6 || ignored < 1 || stored < 2 {
		t.Errorf("logged %d stored and %d ignored events, want 6 in all, at least one ignored\n%s", stored, ignored, out.String())
	}
}

// startLocal runs the example with env until the test ends or stop is called, and returns its
// base URL once it is healthy, and its output. stop returns once run did, failing the test when
// run failed.
func startLocal(t *testing.T, env map[string]string) (base string, out *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, out) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v\n%s", err, out.String())
			}
		})
	}
	t.Cleanup(stop)
	base = "http://127.0.0.1:" + env["PORT"]
	waitHealthy(t, base)
	return base, out, stop
}

// sendSamples posts the signed sample events to base's webhook and returns them.
func postSamples(t *testing.T, base, secret string, out *syncBuffer) []stripehook.Sample {
	t.Helper()
	samples := stripehook.Samples(time.Now())
	if err := stripehook.SendSamples(context.Background(), http.DefaultClient, base+"/webhook", secret, samples, out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return samples
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never became healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type row struct {
	object, data, eventID string
	eventCreated          int64
	deleted               bool
}

// readRows opens the database as a user inspecting it would.
func readRows(t *testing.T, path string) map[string]row {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(`SELECT id, object, data, event_id, event_created, deleted FROM stripe_objects`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	m := map[string]row{}
	for rs.Next() {
		var id string
		var r row
		if err := rs.Scan(&id, &r.object, &r.data, &r.eventID, &r.eventCreated, &r.deleted); err != nil {
			t.Fatal(err)
		}
		m[id] = r
	}
	return m
}

func TestSendNeedsSecret(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-send", "http://127.0.0.1:1/webhook"}, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "STRIPE_WEBHOOK_SECRET") {
		t.Errorf("err = %v", err)
	}
}

func TestBadPort(t *testing.T) {
	err := run(context.Background(), nil, func(k string) string {
		if k == "PORT" {
			return "eighty"
		}
		return ""
	}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Errorf("err = %v", err)
	}
}
