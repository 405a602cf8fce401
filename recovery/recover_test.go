package recovery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/stripehook"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
	"github.com/hookline/hookline/recovery"
)

// recorder is a channel that keeps what it was sent, and can be made to fail after n sends.
type recorder struct {
	mu      sync.Mutex
	events  []hookline.Event
	failAt  int // fail the send after this many (0: never)
	onSend  func(n int)
	failErr error
}

func (r *recorder) Send(_ context.Context, ev hookline.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAt > 0 && len(r.events) >= r.failAt {
		return r.failErr
	}
	r.events = append(r.events, ev.Clone())
	if r.onSend != nil {
		r.onSend(len(r.events))
	}
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, ev.ID)
	}
	return out
}

func compact(t *testing.T, b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func apiFor(t *testing.T, srv *stripeapi.Server) *client.API {
	t.Helper()
	api, err := recovery.NewClient(srv.Key(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// addEvents adds n customer events created at base, base+1s, ..., with perSecond events sharing
// each second, and returns their bodies by id.
func addEvents(srv *stripeapi.Server, base time.Time, n, perSecond int, typ string) map[string][]byte {
	bodies := map[string][]byte{}
	for i := range n {
		ev := stripeapi.NewEvent(typ, fmt.Sprintf("cus_%s_%04d", typ[len(typ)-3:], i), base.Add(time.Duration(i/perSecond)*time.Second))
		srv.AddEvent(ev)
		bodies[ev.ID()] = ev.JSON
	}
	return bodies
}

// Events across several pages and windows, many sharing one second: each is sent exactly once,
// oldest first, as the webhook would have produced it, and no page is asked for twice.
func TestRecoverAcrossPagesSharingSeconds(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	base := time.Now().Add(-5 * time.Hour).Truncate(time.Second)
	bodies := addEvents(srv, base, 450, 40, "customer.updated")
	rec := &recorder{}
	var progress []recovery.Progress
	res, err := recovery.Recover(t.Context(), apiFor(t, srv), rec, &recovery.Options{Since: base.Add(-time.Minute),
		Window: 2 * time.Minute, Progress: func(p recovery.Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Listed != 450 || res.Sent != 450 || res.Skipped != 0 || len(rec.events) != 450 {
		t.Fatalf("result %+v, sent %d", res, len(rec.events))
	}
	seen := map[string]bool{}
	for i, ev := range rec.events {
		if seen[ev.ID] {
			t.Fatalf("%s sent twice", ev.ID)
		}
		seen[ev.ID] = true
		if i > 0 && ev.Time.Before(rec.events[i-1].Time) {
			t.Fatalf("not oldest first: %s at %v after %v", ev.ID, ev.Time, rec.events[i-1].Time)
		}
		want, err := stripehook.DecodeUnverified(bodies[ev.ID], nil)
		// Stripe indents a list's events deeper than a webhook body: the same JSON, other white space.
		if err != nil || want.Subject != ev.Subject || compact(t, want.Data) != compact(t, ev.Data) || !want.Time.Equal(ev.Time) ||
			want.Meta("apiversion") != ev.Meta("apiversion") {
			t.Fatalf("%s differs from the webhook's event (%v):\n got  %+v\n want %+v", ev.ID, err, ev, want)
		}
	}
	asked := map[string]bool{}
	for _, r := range srv.Requests() {
		if asked[r.RawQuery] {
			t.Errorf("page asked twice: %s", r.RawQuery)
		}
		asked[r.RawQuery] = true
	}
	if len(progress) == 0 || progress[len(progress)-1].Sent != 450 {
		t.Errorf("progress %+v", progress)
	}
}

// A rate-limited page (429) mid-way is waited out, and the listing resumes where it was.
func TestRecoverWaitsOutRateLimits(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	addEvents(srv, base, 250, 10, "customer.updated")
	rec := &recorder{}
	rec.onSend = func(n int) {
		if n == 100 {
			srv.RateLimitNext(1)
		}
	}
	srv.RateLimitNext(1) // the very first request too
	res, err := recovery.Recover(t.Context(), apiFor(t, srv), rec, &recovery.Options{Since: base, Window: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 250 || res.RateLimited != 2 {
		t.Fatalf("result %+v", res)
	}
	n429 := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			n429++
		}
	}
	if n429 != 2 {
		t.Errorf("the double answered 429 %d times", n429)
	}
}

// --undelivered asks Stripe for delivery_success=false; types Stripe cannot filter on in one
// request are filtered here and counted as skipped.
func TestRecoverUndeliveredAndTypes(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for id := range addEvents(srv, base, 30, 5, "customer.updated") {
		srv.SetDelivered(id, true)
	}
	addEvents(srv, base, 7, 5, "customer.created")
	addEvents(srv, base, 4, 5, "invoice.paid")
	addEvents(srv, base, 3, 5, "charge.failed")
	rec := &recorder{}
	res, err := recovery.Recover(t.Context(), apiFor(t, srv), rec, &recovery.Options{Since: base, Undelivered: true,
		Types: []string{"customer.*", "invoice.*"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Listed != 14 || res.Sent != 11 || res.Skipped != 3 {
		t.Fatalf("result %+v", res)
	}
	for _, r := range srv.Requests() {
		if r.Query.Get("delivery_success") != "false" {
			t.Errorf("request without delivery_success=false: %s", r.RawQuery)
		}
	}
	// One wildcard, or exact types, are Stripe's to filter.
	rec = &recorder{}
	res, err = recovery.Recover(t.Context(), apiFor(t, srv), rec, &recovery.Options{Since: base, Types: []string{"invoice.paid", "charge.failed"}})
	if err != nil || res.Listed != 7 || res.Sent != 7 || res.Skipped != 0 {
		t.Fatalf("exact types: %+v, %v", res, err)
	}
}

// A channel that fails mid-way stops the run with the error, and the counts say what was sent.
func TestRecoverStopsOnAFailingChannel(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	addEvents(srv, base, 60, 1, "customer.updated")
	broker := errors.New("broker unavailable")
	rec := &recorder{failAt: 25, failErr: broker}
	res, err := recovery.Recover(t.Context(), apiFor(t, srv), rec, &recovery.Options{Since: base, Window: 10 * time.Second})
	if !errors.Is(err, broker) || res.Sent != 25 {
		t.Fatalf("result %+v, err %v", res, err)
	}
	if res.Done.After(base.Add(20 * time.Second)) {
		t.Errorf("Done %v claims more than was sent", res.Done)
	}
}

// A refused key fails at once, saying so.
func TestRecoverRefusedKey(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	api, err := recovery.NewClient("sk_test_wrong", srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = recovery.Recover(t.Context(), api, &recorder{}, &recovery.Options{Since: time.Now().Add(-time.Hour)})
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusUnauthorized {
		t.Fatalf("err = %v, want Stripe's 401", err)
	}
	if len(srv.Requests()) != 1 {
		t.Errorf("%d requests after a 401, want 1", len(srv.Requests()))
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"72h":                  now.Add(-72 * time.Hour),
		" 90m ":                now.Add(-90 * time.Minute),
		"2026-11-01T00:00:00Z": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := recovery.ParseWhen(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1h", "yesterday", "2026-11-01"} {
		if _, err := recovery.ParseWhen(in, now); err == nil || !strings.Contains(err.Error(), "neither an RFC 3339 time") {
			t.Errorf("ParseWhen(%q) = %v, want an error saying what it takes", in, err)
		}
	}
}
