package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/pipeline"
	"github.com/hookline/hookline/sink"
)

const (
	token  = "test-console-token-0123456789"
	secret = "whsec_console_test"

	// missingColumn is the failing sink's error unless setup.Reason names another.
	missingColumn = "dataverse: column new_stripecustomerid does not exist"
)

var seq atomic.Int64

// setup says how start runs a pipeline; its zero value is a pipeline on a fresh inproc://
// channel whose sink is a *sink.Memory.
type setup struct {
	Console    console.Options // Token defaults to token
	Metrics    bool            // register the console's metric reader with the pipeline's meter provider
	Channel    string          // the pipeline's channel; a fresh inproc:// one when empty
	DeadLetter string          // the pipeline's dead-letter channel, if any

	// Fails picks the events the sink fails permanently for, with Reason (missingColumn when
	// empty), until running.fixed is set. With Fails set the sink has Write and Close only:
	// embedding *sink.Memory would bring its Apply, which the pipeline prefers to Write.
	Fails  func(ev hookline.Event) bool
	Reason string
}

// objects fails the events about the given Stripe objects (none: a Write-only sink that fails
// for nothing).
func objects(names ...string) func(ev hookline.Event) bool {
	return func(ev hookline.Event) bool { return slices.Contains(names, ev.Subject) }
}

// running is a pipeline with a console, serving on a loopback port.
type running struct {
	base  string // http://127.0.0.1:port
	store *sink.Memory
	fixed atomic.Bool // once set, the sink fails for nothing
}

// start runs a pipeline as s says, and stops it when the test ends.
func start(t *testing.T, s setup) *running {
	t.Helper()
	opts := s.Console
	if opts.Token == "" {
		opts.Token = token
	}
	con, err := console.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{store: sink.NewMemory()}
	po := &pipeline.Options{Sink: r.store, Console: con}
	if s.Fails != nil {
		po.Sink = failingSink{r, s}
	}
	if s.Metrics {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(con.MetricReader()))
		t.Cleanup(func() { mp.Shutdown(context.Background()) })
		po.MeterProvider = mp
	}
	cfg := pipeline.Config{Channel: s.Channel, DeadLetter: s.DeadLetter, Secrets: []string{secret}}
	if cfg.Channel == "" {
		cfg.Channel = fmt.Sprintf("inproc://console-test-%d", seq.Add(1))
	}
	ctx, stop := context.WithCancel(context.Background())
	p, err := pipeline.Open(ctx, cfg, po)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	r.base = "http://" + ln.Addr().String()
	return r
}

// failingSink fails permanently for the events s.Fails picks until r.fixed is set, and writes
// the others to r.store. It has Write and Close only (see setup.Fails).
type failingSink struct {
	r *running
	s setup
}

func (f failingSink) Write(ctx context.Context, ev hookline.Event) error {
	if !f.r.fixed.Load() && f.s.Fails(ev) {
		reason := f.s.Reason
		if reason == "" {
			reason = missingColumn
		}
		return hookline.Errorf(hookline.Permanent, "%s", reason)
	}
	return f.r.store.Write(ctx, ev)
}

func (f failingSink) Close() error { return nil }

// send posts body to the webhook signed with sec, and returns the event's id and the status.
func (r *running) send(t *testing.T, body []byte, sec string) (string, int) {
	t.Helper()
	id := eventID(t, body)
	req, _ := http.NewRequest(http.MethodPost, r.base+"/webhook", bytes.NewReader(body))
	req.Header.Set(stripehook.SignatureHeader, stripehook.Sign(body, sec, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return id, resp.StatusCode
}

// postBody sends body, signed with the secret, to the webhook, which must accept it, and
// returns the event's id.
func (r *running) postBody(t *testing.T, body []byte) string {
	t.Helper()
	id, code := r.send(t, body, secret)
	if code != http.StatusOK {
		t.Fatalf("webhook answered %d", code)
	}
	return id
}

// post sends a signed sample event of type typ about object to the webhook, which must accept
// it, and returns its id.
func (r *running) post(t *testing.T, typ, object string) string {
	t.Helper()
	return r.postBody(t, stripehook.SampleEvent(typ, object, time.Now()))
}

// eventID returns the id of a Stripe event body.
func eventID(t *testing.T, body []byte) string {
	t.Helper()
	var ev struct{ ID string }
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		t.Fatalf("event without an id (%v): %s", err, body)
	}
	return ev.ID
}

// api sends a request to the console with the bearer token tok (none when empty); a body of
// url.Values is sent as a form, a string or any other value as JSON.
func (r *running) api(t *testing.T, method, path, tok string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, _ := http.NewRequest(method, r.base+"/console/"+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// do is api with the token.
func (r *running) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	return r.api(t, method, path, token, body)
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
