package emitter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

// sourceFunc adapts a function to emitter.Source.
type sourceFunc func(http.Header, []byte) (hookline.Event, error)

func (f sourceFunc) Decode(h http.Header, b []byte) (hookline.Event, error) { return f(h, b) }

// echoSource accepts every delivery: the event id comes from the X-Id header, Data is the body.
var echoSource = sourceFunc(func(h http.Header, b []byte) (hookline.Event, error) {
	return hookline.Event{ID: h.Get("X-Id"), Source: "test", Type: "thing.happened", Data: b}, nil
})

// failSource refuses every delivery with err.
func failSource(err error) emitter.Source {
	return sourceFunc(func(http.Header, []byte) (hookline.Event, error) { return hookline.Event{}, err })
}

// recorder is a Sender that keeps a deep copy of every event it accepts.
type recorder struct {
	mu     sync.Mutex
	events []hookline.Event
}

func (r *recorder) Send(ctx context.Context, ev hookline.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev.Clone())
	return nil
}

func (r *recorder) sent() []hookline.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookline.Event(nil), r.events...)
}

// failingSender fails every send with err.
type failingSender struct{ err error }

func (f failingSender) Send(context.Context, hookline.Event) error { return f.err }

// blockingSender blocks until ctx ends and returns its error, like a broker that does not answer.
type blockingSender struct{}

func (blockingSender) Send(ctx context.Context, _ hookline.Event) error {
	<-ctx.Done()
	return ctx.Err()
}

func newServer(t *testing.T, src emitter.Source, dst emitter.Sender, opts *emitter.HandlerOptions) *httptest.Server {
	t.Helper()
	h, err := emitter.NewHandler(src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, string(b)}
}

func post(t *testing.T, url, id string, body []byte) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Id", id)
	return do(t, req)
}

func check(t *testing.T, got result, status int, body string) {
	t.Helper()
	if got.status != status || got.body != body {
		t.Errorf("got %d %q, want %d %q", got.status, got.body, status, body)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

func TestNewHandlerRefusesNil(t *testing.T) {
	if _, err := emitter.NewHandler(nil, &recorder{}, nil); err == nil {
		t.Error("NewHandler(nil source) succeeded")
	}
	if _, err := emitter.NewHandler(echoSource, nil, nil); err == nil {
		t.Error("NewHandler(nil sender) succeeded")
	}
}

func TestSuccess(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, echoSource, rec, nil)
	got := post(t, srv.URL, "evt_1", []byte("payload"))
	check(t, got, 200, `{"received":true,"id":"evt_1"}`)
	sent := rec.sent()
	if len(sent) != 1 || sent[0].ID != "evt_1" || string(sent[0].Data) != "payload" {
		t.Fatalf("sent %+v", sent)
	}
}

func TestIDNeedingEscapeIsNotEchoed(t *testing.T) {
	srv := newServer(t, echoSource, &recorder{}, nil)
	check(t, post(t, srv.URL, `evt_"x`, nil), 200, `{"received":true}`)
}

func TestMethodNotAllowed(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, echoSource, rec, nil)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, srv.URL, strings.NewReader("x"))
		got := do(t, req)
		check(t, got, 405, `{"error":"method not allowed"}`)
		if a := got.header.Get("Allow"); a != "POST" {
			t.Errorf("%s: Allow = %q, want POST", m, a)
		}
	}
	if n := len(rec.sent()); n != 0 {
		t.Errorf("sent %d events", n)
	}
}

// unsized hides the length of a body, so the client sends it chunked without Content-Length.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestBodyTooLarge(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, echoSource, rec, &emitter.HandlerOptions{MaxBodyBytes: 100})
	big := bytes.Repeat([]byte("a"), 101)

	withLength := post(t, srv.URL, "evt_1", big)
	check(t, withLength, 413, `{"error":"body too large"}`)

	req, _ := http.NewRequest(http.MethodPost, srv.URL, unsized{bytes.NewReader(big)})
	if req.ContentLength != 0 {
		t.Fatalf("ContentLength = %d, want unknown", req.ContentLength)
	}
	check(t, do(t, req), 413, `{"error":"body too large"}`)

	if n := len(rec.sent()); n != 0 {
		t.Errorf("sent %d events", n)
	}
	// Exactly at the limit is fine, with and without a length.
	check(t, post(t, srv.URL, "evt_2", big[:100]), 200, `{"received":true,"id":"evt_2"}`)
	req, _ = http.NewRequest(http.MethodPost, srv.URL, unsized{bytes.NewReader(big[:100])})
	req.Header.Set("X-Id", "evt_3")
	check(t, do(t, req), 200, `{"received":true,"id":"evt_3"}`)
}

func TestDefaultBodyLimit(t *testing.T) {
	srv := newServer(t, echoSource, &recorder{}, nil)
	limit := int(emitter.DefaultMaxBodyBytes)
	check(t, post(t, srv.URL, "evt_1", make([]byte, limit)), 200, `{"received":true,"id":"evt_1"}`)
	check(t, post(t, srv.URL, "evt_2", make([]byte, limit+1)), 413, `{"error":"body too large"}`)
}

func TestSkip(t *testing.T) {
	rec := &recorder{}
	skip := failSource(fmt.Errorf("filtered: %w", emitter.ErrSkip))
	srv := newServer(t, skip, rec, nil)
	check(t, post(t, srv.URL, "evt_1", []byte("x")), 200, `{"received":true,"skipped":true}`)
	if n := len(rec.sent()); n != 0 {
		t.Errorf("sent %d events", n)
	}
}

func TestReject(t *testing.T) {
	const secret = "whsec_do_not_echo"
	cases := []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"reject error", emitter.Reject("invalid signature", errors.New(secret)), 400, `{"error":"invalid signature"}`},
		{"wrapped", fmt.Errorf("x: %w", &emitter.RejectError{Status: 422, Reason: "malformed event"}), 422, `{"error":"malformed event"}`},
		{"non-4xx status", &emitter.RejectError{Status: 500, Reason: "boom"}, 400, `{"error":"boom"}`},
		{"zero status", &emitter.RejectError{Reason: "bad"}, 400, `{"error":"bad"}`},
		{"unsafe reason", &emitter.RejectError{Status: 400, Reason: "bad \"" + secret + "\""}, 400, `{"error":"rejected"}`},
		{"empty reason", &emitter.RejectError{Status: 401}, 401, `{"error":"rejected"}`},
		{"unknown error", errors.New(secret), 400, `{"error":"rejected"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			srv := newServer(t, failSource(c.err), rec, nil)
			got := post(t, srv.URL, "evt_1", []byte(secret))
			check(t, got, c.status, c.body)
			if strings.Contains(got.body, secret) {
				t.Errorf("body %q echoes the secret", got.body)
			}
			if n := len(rec.sent()); n != 0 {
				t.Errorf("sent %d events", n)
			}
		})
	}
}

func TestSendFailure(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv := newServer(t, echoSource, failingSender{errors.New("broker down")}, &emitter.HandlerOptions{Logger: log})
	got := post(t, srv.URL, "evt_1", []byte("body-must-not-be-logged"))
	check(t, got, 503, `{"error":"temporarily unavailable"}`)
	if ra := got.header.Get("Retry-After"); ra != "5" {
		t.Errorf("Retry-After = %q, want 5", ra)
	}
	l := logs.String()
	if !strings.Contains(l, "evt_1") || !strings.Contains(l, "thing.happened") || !strings.Contains(l, "broker down") {
		t.Errorf("log %q lacks the event id, type or error", l)
	}
	if strings.Contains(l, "body-must-not-be-logged") {
		t.Errorf("log %q contains the body", l)
	}
}

func TestSendTimeout(t *testing.T) {
	opts := &emitter.HandlerOptions{SendTimeout: 50 * time.Millisecond, RetryAfter: 1500 * time.Millisecond}
	srv := newServer(t, echoSource, blockingSender{}, opts)
	start := time.Now()
	got := post(t, srv.URL, "evt_1", []byte("x"))
	check(t, got, 503, `{"error":"temporarily unavailable"}`)
	if ra := got.header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After = %q, want 2 (1.5s rounded up)", ra)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v, want about the 50ms budget", d)
	}
}

// retainer fails every send but keeps ev.Data, as a driver might that still holds the message in
// a background batch after Send gave up.
type retainer struct {
	mu   sync.Mutex
	kept [][]byte
}

func (r *retainer) Send(_ context.Context, ev hookline.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kept = append(r.kept, ev.Data)
	return errors.New("timed out")
}

// TestFailedSendBufferNotReused checks that a body whose send failed is never overwritten by a
// later request, even though the Sender still holds it.
func TestFailedSendBufferNotReused(t *testing.T) {
	ret := &retainer{}
	failing := newServer(t, echoSource, ret, nil)
	check(t, post(t, failing.URL, "evt_1", []byte("first body")), 503, `{"error":"temporarily unavailable"}`)
	for i := range 50 {
		post(t, failing.URL, "evt_x", bytes.Repeat([]byte{'z'}, 10+i))
	}
	if got := string(ret.kept[0]); got != "first body" {
		t.Errorf("retained body changed to %q", got)
	}
}

// TestConcurrentDeliveries checks under the race detector that pooled buffers never mix bodies.
func TestConcurrentDeliveries(t *testing.T) {
	rec := &recorder{}
	byQuery := sourceFunc(func(h http.Header, b []byte) (hookline.Event, error) {
		return hookline.Event{ID: h.Get("X-Query-Id"), Data: b}, nil
	})
	h, err := emitter.NewHandler(byQuery, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Query-Id", r.URL.Query().Get("id"))
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				id := fmt.Sprintf("evt_%d_%d", w, i)
				body := bytes.Repeat([]byte(id+";"), 1+(w*31+i*7)%400)
				resp, err := http.Post(srv.URL+"?id="+id, "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: status %d", id, resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	sent := rec.sent()
	if len(sent) != 200 {
		t.Fatalf("sent %d events, want 200", len(sent))
	}
	for _, ev := range sent {
		unit := ev.ID + ";"
		if len(ev.Data)%len(unit) != 0 || strings.ReplaceAll(string(ev.Data), unit, "") != "" {
			t.Fatalf("%s: data mixed with another request: %.60q", ev.ID, ev.Data)
		}
	}
}

func TestAccept(t *testing.T) {
	rec := &recorder{}
	h, err := emitter.NewHandler(echoSource, rec, &emitter.HandlerOptions{MaxBodyBytes: 4})
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	hdr.Set("X-Id", "evt_9")
	resp := h.Accept(context.Background(), hdr, []byte("abcd"))
	if resp.Status != 200 || resp.EventID != "evt_9" || string(resp.Body()) != `{"received":true,"id":"evt_9"}` {
		t.Errorf("Accept = %+v %s", resp, resp.Body())
	}
	resp = h.Accept(context.Background(), hdr, []byte("abcde"))
	if resp.Status != 413 || string(resp.Body()) != `{"error":"body too large"}` {
		t.Errorf("oversized Accept = %+v", resp)
	}
	if n := len(rec.sent()); n != 1 {
		t.Errorf("sent %d events, want 1", n)
	}
}

func TestResponseHeader(t *testing.T) {
	h := emitter.Response{Status: 503, RetryAfter: 2 * time.Second}.Header()
	if h.Get("Retry-After") != "2" || h.Get("Content-Type") != "application/json" || h.Get("Allow") != "" {
		t.Errorf("503 header = %v", h)
	}
	h = emitter.Response{Status: 405}.Header()
	if h.Get("Allow") != "POST" || h.Get("Retry-After") != "" {
		t.Errorf("405 header = %v", h)
	}
	h.Set("Content-Type", "text/plain") // a fresh header: must not change later ones
	if ct := (emitter.Response{Status: 200}).Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q after another header was changed", ct)
	}
}

func TestRejectErrorUnwraps(t *testing.T) {
	cause := errors.New("cause")
	err := emitter.Reject("invalid signature", cause)
	if !errors.Is(err, cause) {
		t.Error("RejectError does not unwrap to its cause")
	}
	if s := err.Error(); !strings.Contains(s, "400 invalid signature") {
		t.Errorf("Error() = %q", s)
	}
}
