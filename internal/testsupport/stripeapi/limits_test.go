package stripeapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

func statuses(reqs []stripeapi.Request) []int {
	out := make([]int, len(reqs))
	for i, r := range reqs {
		out[i] = r.Status
	}
	return out
}

// A rate-limit 429 reaches the caller: stripe-go v76 does not retry it (no lock_timeout code,
// no Stripe-Should-Retry), so the caller backs off and asks again.
func TestRateLimitReachesCaller(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	want := addEvents(srv, "cus", 3, time.Now(), true)
	sc := newClient(srv, srv.Key(), 2)
	srv.RateLimitNext(1)
	_, err := ids(sc.Events.List(nil))
	se := stripeError(t, err)
	if se.HTTPStatusCode != http.StatusTooManyRequests || se.Code != stripe.ErrorCodeRateLimit ||
		se.Type != stripe.ErrorTypeInvalidRequest || se.LastResponse == nil ||
		se.LastResponse.Header.Get("Stripe-Rate-Limited-Reason") != "global-rate" ||
		se.LastResponse.Header.Get("Retry-After") != "" {
		t.Fatalf("rate limited: %+v", se)
	}
	got, err := ids(sc.Events.List(nil)) // the caller's own retry
	if err != nil || !slices.Equal(got, reversed(want)) {
		t.Fatalf("after the 429: %v, %v", got, err)
	}
	if s := statuses(srv.Requests()); !slices.Equal(s, []int{429, 200}) {
		t.Fatalf("statuses %v, want [429 200]: stripe-go must not have retried", s)
	}
}

// A lock_timeout 429 is retried by stripe-go itself, up to MaxNetworkRetries.
func TestLockTimeoutRetriedByStripeGo(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	want := addEvents(srv, "cus", 3, time.Now(), true)
	sc := newClient(srv, srv.Key(), 2)
	srv.LockTimeoutNext(2)
	got, err := ids(sc.Events.List(nil))
	if err != nil || !slices.Equal(got, reversed(want)) {
		t.Fatalf("through two lock timeouts: %v, %v", got, err)
	}
	if s := statuses(srv.Requests()); !slices.Equal(s, []int{429, 429, 200}) {
		t.Fatalf("statuses %v, want [429 429 200]", s)
	}

	srv.LockTimeoutNext(1) // one more than a client without retries tries
	_, err = ids(newClient(srv, srv.Key(), 0).Events.List(nil))
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusTooManyRequests || se.Code != stripe.ErrorCodeLockTimeout {
		t.Fatalf("past MaxNetworkRetries: %+v", se)
	}
}

// Unauthenticated requests are refused before the rate limiter and do not use up its 429s.
func TestRateLimitAfterAuthentication(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	srv.RateLimitNext(1)
	if status, _, _ := get(t, srv, "/v1/events", "sk_test_other"); status != http.StatusUnauthorized {
		t.Fatalf("wrong key while rate limited: %d, want 401", status)
	}
	if status, _, _ := get(t, srv, "/v1/events", srv.Key()); status != http.StatusTooManyRequests {
		t.Fatalf("first authenticated request: %d, want 429", status)
	}
	if status, _, _ := get(t, srv, "/v1/events", srv.Key()); status != http.StatusOK {
		t.Fatalf("second authenticated request: %d, want 200", status)
	}
}
