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

	"github.com/hookline/hookline/emitter/standardwebhooks"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/swsign"
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

// readRows reads stripe_objects.
func readRows(t *testing.T, path string) map[string]row { return readTable(t, path, "stripe_objects") }

// readTable opens the database as a user inspecting it would and reads table.
func readTable(t *testing.T, path, table string) map[string]row {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(`SELECT id, object, data, event_id, event_created, deleted FROM ` + table)
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

// With HOOKLINE_SOURCE=standardwebhooks:// and HOOKLINE_WEBHOOK_SECRET, the example takes any
// Standard Webhooks sender's deliveries, signed here per the specification (not by the source's
// own package), into standardwebhooks_objects: out of order and redelivered, the newest event
// (by the payload's sub-second timestamp) wins, a deletion sticks, a forgery is refused.
func TestLocalExampleStandardWebhooks(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hookline.db")
	secret := swsign.Secret()
	env := map[string]string{"PORT": freePort(t), "HOOKLINE_SINK": "sqlite://" + db, "HOOKLINE_CHANNEL": "inproc://e2e-sw",
		"HOOKLINE_SOURCE": "standardwebhooks://", "HOOKLINE_WEBHOOK_SECRET": secret}
	base, out, stop := startLocal(t, env)
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	deliveries := []struct {
		id, typ, subject, name string
		at                     time.Time // the payload's timestamp
		secret                 string
		want                   int
	}{
		{"msg_2", "user.updated", "user_ada", "Ada Lovelace", t0.Add(750 * time.Millisecond), secret, 200},
		{"msg_1", "user.created", "user_ada", "Ada", t0.Add(250 * time.Millisecond), secret, 200},
		{"msg_2", "user.updated", "user_ada", "Ada Lovelace", t0.Add(750 * time.Millisecond), secret, 200}, // redelivered
		{"msg_3", "user.created", "user_bob", "Bob", t0, secret, 200},
		{"msg_4", "user.deleted", "user_bob", "Bob", t0.Add(time.Second), secret, 200},
		{"msg_5", "user.updated", "user_bob", "Bob again?", t0.Add(999 * time.Millisecond), secret, 200}, // older than the deletion
		{"msg_6", "user.created", "user_eve", "Eve", t0, swsign.Secret(), 400},                           // forged
	}
	for _, d := range deliveries {
		code, err := swsign.Post(http.DefaultClient, base+"/webhook", d.secret, d.id, time.Now(), swsign.Payload(d.typ, d.subject, d.name, d.at))
		if err != nil || code != d.want {
			t.Fatalf("%s %s: answered %d, %v; want %d\n%s", d.id, d.typ, code, err, d.want, out.String())
		}
	}
	stop()
	rows := readTable(t, db, "standardwebhooks_objects")
	ada, bob := rows["user_ada"], rows["user_bob"]
	if ada.eventID != "msg_2" || ada.object != "user" || ada.deleted || !strings.Contains(ada.data, "Ada Lovelace") {
		t.Errorf("user_ada = %+v, want msg_2 (the newer timestamp), not deleted", ada)
	}
	if bob.eventID != "msg_4" || !bob.deleted {
		t.Errorf("user_bob = %+v, want deleted by msg_4", bob)
	}
	if _, forged := rows["user_eve"]; forged || len(rows) != 2 {
		t.Errorf("rows = %v, want user_ada and user_bob only", rows)
	}
}

// `go run ./examples/local -demo`, the README's first command, stores its samples with no
// variable set (a secret generated), with either source.
func TestLocalDemo(t *testing.T) {
	for source, want := range map[string]struct {
		table, secretEnv string
		samples          int
	}{
		"stripe://":           {"stripe_objects", "STRIPE_WEBHOOK_SECRET", len(stripehook.Samples(time.Now()))},
		"standardwebhooks://": {"standardwebhooks_objects", "HOOKLINE_WEBHOOK_SECRET", len(standardwebhooks.Samples(time.Now()))},
	} {
		t.Run(strings.TrimSuffix(source, "://"), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "hookline.db")
			env := map[string]string{"PORT": freePort(t), "HOOKLINE_SINK": "sqlite://" + db, "HOOKLINE_SOURCE": source}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"-demo"}, func(k string) string { return env[k] }, out) }()
			deadline := time.Now().Add(20 * time.Second)
			for strings.Count(out.String(), "msg=\"event ") < want.samples {
				if time.Now().After(deadline) {
					t.Fatalf("the demo's %d samples were not all processed:\n%s", want.samples, out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "No "+want.secretEnv+" is set") {
				t.Errorf("the notice does not name the source's secret variable:\n%s", out.String())
			}
			if rows := readTable(t, db, want.table); len(rows) == 0 {
				t.Errorf("the demo stored nothing in %s", want.table)
			}
		})
	}
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
