package dataverse_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
)

// TestThrottledWaitsRetryAfterThenGivesUp: a 429 pauses the sink for its Retry-After and the
// request goes again; after maxThrottleWaits (3) such pauses the write returns a Transient error
// carrying the Retry-After, for the consumer to wait.
func TestThrottledWaitsRetryAfterThenGivesUp(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, func(o *dataverse.Options) { o.MaxConcurrency = 16 })
	mustWrite(t, s, customer("cus_429", "customer.created", "evt_0", 0, `{}`)) // the probe: concurrency 16
	srv.Throttle(4, time.Second)
	start := time.Now()
	err := s.Write(context.Background(), customer("cus_429", "customer.updated", "evt_1", 1, `{}`))
	if hookline.Code(err) != hookline.Transient {
		t.Fatalf("Write throttled 4 times = %v (code %v), want Transient", err, hookline.Code(err))
	}
	if waited := time.Since(start); waited < 3*time.Second {
		t.Errorf("gave up after %v, want three pauses of the 1 s Retry-After first", waited)
	}
	if got := hookline.RetryAfter(err); got != time.Second {
		t.Errorf("RetryAfter = %v, want 1s", got)
	}
	if !strings.Contains(err.Error(), dataversetest.CodeTooManyRequests) {
		t.Errorf("error %q does not name Dataverse's code", err)
	}
	if c := s.Concurrency(); c > 8 {
		t.Errorf("concurrency after 429s = %d, want at most 8", c)
	}

	srv.Throttle(1, time.Second)
	mustApply(t, s, customer("cus_429", "customer.updated", "evt_1", 1, `{}`), sink.Stored) // one pause, then written
	for i := range 200 {
		mustWrite(t, s, customer("cus_429", "customer.updated", fmt.Sprintf("evt_%d", i+2), i+2, `{}`))
	}
	if c := s.Concurrency(); c != 16 {
		t.Errorf("concurrency after 200 successes = %d, want it back at 16", c)
	}
}

// TestThrottlePausesEveryRequest: while one request's Retry-After runs, the sink sends nothing,
// from any goroutine: Dataverse counts per user, so any of them would be refused too.
func TestThrottlePausesEveryRequest(t *testing.T) {
	srv := newDouble(t)
	rec := &sendTimes{base: http.DefaultTransport}
	s := openSink(t, srv, func(o *dataverse.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	mustWrite(t, s, customer("cus_p0", "customer.created", "evt_0", 0, `{}`))
	srv.Throttle(1, 2*time.Second)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			mustWrite(t, s, customer(fmt.Sprintf("cus_p%d", i+1), "customer.created", fmt.Sprintf("evt_%d", i+1), 0, `{}`))
			time.Sleep(10 * time.Millisecond)
		})
	}
	wg.Wait()
	refused, sent := rec.snapshot()
	if refused.IsZero() {
		t.Fatal("no request was refused with 429")
	}
	// A request already on its way when the 429 came back may still go out: the pause takes
	// effect once the sink has read the answer, within moments.
	const grace = 250 * time.Millisecond
	for _, at := range sent {
		if at.After(refused.Add(grace)) && at.Before(refused.Add(2*time.Second-50*time.Millisecond)) {
			t.Errorf("a request went out %v after the 429 that asked for a 2 s pause", at.Sub(refused))
		}
	}
	for i := range 9 {
		row(t, srv, fmt.Sprintf("cus_p%d", i))
	}
}

// sendTimes records when each request went out, and when the first 429 came back.
type sendTimes struct {
	base    http.RoundTripper
	mu      sync.Mutex
	sent    []time.Time
	refused time.Time
}

func (r *sendTimes) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.sent = append(r.sent, time.Now())
	r.mu.Unlock()
	resp, err := r.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		r.mu.Lock()
		if r.refused.IsZero() {
			r.refused = time.Now()
		}
		r.mu.Unlock()
	}
	return resp, err
}

func (r *sendTimes) snapshot() (time.Time, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused, slices.Clone(r.sent)
}

func TestTooManyConcurrentRequestsSlowsDown(t *testing.T) {
	srv := dataversetest.New(&dataversetest.Options{MaxConcurrent: 1, Latency: 50 * time.Millisecond})
	t.Cleanup(srv.Close)
	s := openSink(t, srv, func(o *dataverse.Options) { o.MaxConcurrency = 4; o.BatchSize = 1 })
	mustWrite(t, s, customer("cus_cc0", "customer.created", "evt_0", 0, `{}`))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			ev := customer(fmt.Sprintf("cus_cc%d", i+1), "customer.created", fmt.Sprintf("evt_%d", i+1), 0, `{}`)
			for range 5 { // as the consumer redelivers an event whose write was throttled
				err := s.Write(context.Background(), ev)
				if err == nil {
					return
				}
				if hookline.Code(err) != hookline.Transient || hookline.RetryAfter(err) != time.Second {
					t.Errorf("error %v: code %v, retry after %v; want Transient, 1s", err, hookline.Code(err), hookline.RetryAfter(err))
				}
			}
			t.Errorf("%s not written after 5 attempts", ev.Subject)
		})
	}
	wg.Wait()
	if c := s.Concurrency(); c >= 4 {
		t.Errorf("concurrency %d after the double refused concurrent requests, want below 4", c)
	}
}

func TestValidationErrorIsPermanent(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	srv.FailNext(1, http.StatusBadRequest, "0x80040203", "Invalid value for emailaddress1.")
	err := s.Write(context.Background(), customer("cus_v", "customer.created", "evt_1", 0, `{}`))
	if hookline.Code(err) != hookline.Permanent {
		t.Fatalf("Write = %v (code %v), want Permanent", err, hookline.Code(err))
	}
	for _, want := range []string{"dataverse: ", "400", "0x80040203", "Invalid value for emailaddress1."} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestStatusClassification(t *testing.T) {
	cases := []struct {
		status int
		want   hookline.ErrorCode
	}{
		{400, hookline.Permanent}, {403, hookline.Unknown}, {405, hookline.Permanent},
		{408, hookline.Transient}, {409, hookline.Transient}, {413, hookline.Permanent},
		{422, hookline.Permanent}, {500, hookline.Transient}, {502, hookline.Transient},
		{503, hookline.Transient}, {504, hookline.Transient},
	}
	for _, c := range cases {
		srv := newDouble(t)
		s := openSink(t, srv, nil)
		srv.FailNext(1, c.status, "0x80040000", "failure")
		err := s.Write(context.Background(), customer("cus_x", "customer.created", "evt_1", 0, `{}`))
		if got := hookline.Code(err); got != c.want {
			t.Errorf("status %d: code %v (%v), want %v", c.status, got, err, c.want)
		}
	}
}

func TestMissingEntitySetIsPermanent(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, func(o *dataverse.Options) { o.EntitySet = "nosuchthings" })
	err := s.Write(context.Background(), customer("cus_x", "customer.created", "evt_1", 0, `{}`))
	if hookline.Code(err) != hookline.Permanent || !strings.Contains(err.Error(), "0x8006088a") {
		t.Fatalf("Write = %v (code %v), want Permanent naming 0x8006088a", err, hookline.Code(err))
	}
}

func TestNetworkErrorIsTransientAndContextUnwrapped(t *testing.T) {
	srv := newDouble(t)
	s := openSink(t, srv, nil)
	srv.Close()
	err := s.Write(context.Background(), customer("cus_n", "customer.created", "evt_1", 0, `{}`))
	if hookline.Code(err) != hookline.Transient {
		t.Fatalf("Write to a closed server = %v (code %v), want Transient", err, hookline.Code(err))
	}

	slow := dataversetest.New(&dataversetest.Options{Latency: time.Second})
	t.Cleanup(slow.Close)
	s2 := openSink(t, slow, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s2.Write(ctx, customer("cus_n", "customer.created", "evt_1", 0, `{}`)); err != context.DeadlineExceeded {
		t.Fatalf("Write past its deadline = %v, want context.DeadlineExceeded itself", err)
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	srv := newDouble(t)
	srv.SetTokens("fresh-token")
	cred := &fakeCredential{tokens: []string{"stale-token", "fresh-token"}}
	s := openSink(t, srv, func(o *dataverse.Options) { o.Token = ""; o.Credential = cred })
	mustWrite(t, s, customer("cus_a", "customer.created", "evt_1", 0, `{}`))
	if n := cred.count(); n != 2 {
		t.Errorf("credential called %d times, want 2 (one refresh)", n)
	}
	mustWrite(t, s, customer("cus_a", "customer.updated", "evt_2", 1, `{}`))
	if n := cred.count(); n != 2 {
		t.Errorf("credential called %d times after a second write, want the cached token used", n)
	}
	if got := cred.scopes[0]; got != "https://"+orgHost+"/.default" {
		t.Errorf("scope %q, want https://%s/.default", got, orgHost)
	}
}

func TestUnauthorizedTwiceNamesTheCause(t *testing.T) {
	srv := newDouble(t)
	srv.SetTokens("another")
	cred := &fakeCredential{tokens: []string{"t1", "t2", "t3"}}
	s := openSink(t, srv, func(o *dataverse.Options) { o.Token = ""; o.Credential = cred })
	err := s.Write(context.Background(), customer("cus_a", "customer.created", "evt_1", 0, `{}`))
	if err == nil || hookline.Code(err) == hookline.Permanent || !strings.Contains(err.Error(), "application user") {
		t.Fatalf("Write = %v (code %v), want a non-permanent error naming the application user", err, hookline.Code(err))
	}
	if n := cred.count(); n != 2 {
		t.Errorf("credential called %d times, want 2", n)
	}
	if got := srv.Requests()["GET"]; got != 2 {
		t.Errorf("%d GETs, want 2 (one retry after the refresh)", got)
	}

	static := openSink(t, srv, nil) // a static token cannot be refreshed
	err = static.Write(context.Background(), customer("cus_a", "customer.created", "evt_1", 0, `{}`))
	if err == nil || !strings.Contains(err.Error(), "static token") {
		t.Fatalf("Write with a refused static token = %v", err)
	}
}

func TestTokenNeverLoggedNorInErrors(t *testing.T) {
	srv := newDouble(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cred := &fakeCredential{tokens: []string{"stale-" + testTok, testTok}}
	s := openSink(t, srv, func(o *dataverse.Options) { o.Token = ""; o.Credential = cred; o.Logger = logger })
	var errs []error
	write := func(ev hookline.Event) { errs = append(errs, s.Write(context.Background(), ev)) }
	write(customer("cus_t", "customer.created", "evt_1", 0, `{"email":"a@example.com"}`)) // 401, refresh
	srv.Throttle(1, time.Second)
	write(customer("cus_t", "customer.updated", "evt_2", 1, `{}`))
	srv.FailNext(1, 400, "0x80040203", "bad")
	write(customer("cus_t", "customer.updated", "evt_3", 2, `{}`))
	srv.SetTokens("none-of-these")
	write(customer("cus_t", "customer.updated", "evt_4", 3, `{}`))
	srv.Close()
	write(customer("cus_t", "customer.updated", "evt_5", 4, `{}`))
	if logs.Len() == 0 {
		t.Fatal("nothing was logged at debug level")
	}
	for _, e := range append(errs, errors.New(logs.String())) {
		if e != nil && strings.Contains(e.Error(), "tok-secret") {
			t.Errorf("token leaked: %s", e)
		}
	}
}
