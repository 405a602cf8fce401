package dataverse

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":     0,
		"7":    7 * time.Second,
		" 2 ":  2 * time.Second,
		"0":    0,
		"-3":   0,
		"soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		"99999999": 24 * time.Hour,
	}
	for in, want := range cases {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestLimiterBoundsAndCancels(t *testing.T) {
	l := newLimiter(2, time.Now)
	ctx := context.Background()
	l.answered(0) // the first answer ends the probe of one request at a time
	if l.acquire(ctx) != nil || l.acquire(ctx) != nil {
		t.Fatal("could not take two slots of two")
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := l.acquire(short); err != context.DeadlineExceeded {
		t.Fatalf("third acquire = %v, want DeadlineExceeded", err)
	}
	got := make(chan error)
	go func() { got <- l.acquire(ctx) }()
	time.Sleep(10 * time.Millisecond)
	l.release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	l.throttled(0)
	l.throttled(0) // within a second: counts once
	if c := l.current(); c != 1 {
		t.Fatalf("limit after throttling = %d, want 1", c)
	}
	l.release()
	l.release()
	if l.inFlight != 0 || len(l.waiters) != 0 {
		t.Fatalf("inFlight %d, waiters %d", l.inFlight, len(l.waiters))
	}
}

func TestEscapeKey(t *testing.T) {
	for in, want := range map[string]string{"cus_1": "cus_1", "O'Brien": "O%27%27Brien", "a b/c": "a%20b%2Fc"} {
		if got := escapeKey(in); got != want {
			t.Errorf("escapeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

type clockCredential struct {
	calls int
	now   func() time.Time
}

func (c *clockCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls++
	return azcore.AccessToken{Token: fmt.Sprintf("t%d", c.calls), ExpiresOn: c.now().Add(10 * time.Minute)}, nil
}

func TestTokenCachedUntilShortlyBeforeExpiry(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cred := &clockCredential{now: clock}
	ts := newTokenSource(cred, "", "https://org.crm.dynamics.com/.default", clock)
	ctx := context.Background()
	get := func() string {
		tok, err := ts.token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if a, b := get(), get(); a != "t1" || b != "t1" {
		t.Fatalf("tokens %s, %s; want t1 cached", a, b)
	}
	now = now.Add(6 * time.Minute) // 4 minutes left: still good
	if tok := get(); tok != "t1" {
		t.Fatalf("token %s, want t1 still", tok)
	}
	now = now.Add(90 * time.Second) // 2.5 minutes left: within the margin
	if tok := get(); tok != "t2" {
		t.Fatalf("token %s, want a fresh t2", tok)
	}
	ts.invalidate(ctx, "t1") // not the cached one: no effect
	if tok := get(); tok != "t2" {
		t.Fatalf("token %s after invalidating an old one, want t2", tok)
	}
	ts.invalidate(ctx, "t2")
	if tok := get(); tok != "t3" {
		t.Fatalf("token %s after invalidating, want t3", tok)
	}
}

func TestConfigNotFound(t *testing.T) {
	for body, want := range map[string]bool{
		`{"error":{"code":"0x8006088a","message":"Resource not found for the segment 'x'."}}`:               true,
		`{"error":{"code":"0x8006088A","message":"Resource not found for the segment 'x'."}}`:               true,
		`{"error":{"code":"0x80060888","message":"Not Found"}}`:                                             true,
		`{"error":{"code":"0x80040217","message":"A record with the specified key values does not exist"}}`: false,
		`not json`: false,
	} {
		if got := configNotFound([]byte(body)); got != want {
			t.Errorf("configNotFound(%s) = %v, want %v", body, got, want)
		}
	}
}

func TestSchemaAndLabel(t *testing.T) {
	for logical, want := range map[string][2]string{
		"new_stripecustomerid":      {"new_StripeCustomerId", "Stripe customer id"},
		"new_stripeeventcreated":    {"new_StripeEventCreated", "Stripe event created"},
		"new_stripepaymentintentid": {"new_StripePaymentIntentId", "Stripe payment intent id"},
		"cr5f2_amount_due":          {"cr5f2_Amount_Due", "Amount due"},
		"new_identity":              {"new_Identity", "Identity"},
		"new_x__y":                  {"new_X__Y", "X y"},
		"new_lifetimevalue":         {"new_Lifetimevalue", "Lifetimevalue"},
		"new_stripecustomeridkey":   {"new_StripeCustomerIdKey", "Stripe customer id key"},
	} {
		schema, label := schemaAndLabel(logical)
		if schema != want[0] || label != want[1] || strings.ToLower(schema) != logical {
			t.Errorf("schemaAndLabel(%q) = %q, %q; want %q, %q", logical, schema, label, want[0], want[1])
		}
	}
}
