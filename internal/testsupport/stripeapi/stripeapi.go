// Package stripeapi is a test double of Stripe's REST API: an in-memory httptest server that
// serves the Events API (GET /v1/events) and the list calls of a few object kinds with state,
// for the tests of hookline recover and hookline backfill. It is not Stripe and not a mock of
// stripe-go: tests drive it through stripe-go v76's real client.
//
// It follows Stripe's API reference (https://docs.stripe.com/api): pagination
// (https://docs.stripe.com/api/pagination), List all events
// (https://docs.stripe.com/api/events/list), errors (https://docs.stripe.com/api/errors and
// https://docs.stripe.com/error-codes), authentication (https://docs.stripe.com/api/authentication)
// and rate limits (https://docs.stripe.com/rate-limits). Where those pages leave a detail open,
// the choice is written below. Nothing offline serves the Events API with state: Stripe's own
// stripe-mock (see internal/testsupport/stripemock) checks request shapes against Stripe's
// OpenAPI spec but answers the same fixture whatever is asked. Use stripe-mock for shapes and
// this double for behaviour.
//
// # Connecting stripe-go
//
// With stripe "github.com/stripe/stripe-go/v76" and "github.com/stripe/stripe-go/v76/client":
//
//	srv := stripeapi.Start(t, nil)
//	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
//		URL:               stripe.String(srv.URL()),
//		MaxNetworkRetries: stripe.Int64(2),
//		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
//	})
//	sc := &client.API{}
//	sc.Init(srv.Key(), &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
//	it := sc.Events.List(&stripe.EventListParams{Types: stripe.StringSlice([]string{"customer.created"})})
//
// # Lists
//
// Every list answers {"object":"list","data":[...],"has_more":...,"url":"/v1/..."}, newest
// first: created descending, and among objects created in the same second (common: Stripe's
// created has one-second resolution) the one added last first, so the order is total and
// stable. limit is 1 to 100 (default 10); starting_after gives the page after an object,
// ending_before the page before it (newer objects, still newest first); both at once is a
// 400. A cursor that names no stored object answers 400 with code resource_missing and the
// cursor as param ("No such event: 'evt_x'"; Stripe's pages give the code and message but not
// the status: the double answers 400, as for any bad parameter, and keeps 404 for an id in the
// path); the cursor need not match the filters. created
// takes an exact integer or created[gt], [gte], [lt], [lte]. expand[] is accepted (values
// must start with "data." as list expansions must) and ignored: objects come back as stored.
//
// Any parameter the endpoint does not take answers 400 {"error":{"type":"invalid_request_error",
// "message":"Received unknown parameter: x","param":"x"}}, as Stripe does; wrong types answer
// 400 ("Invalid integer: x", "Invalid boolean: x", "Invalid array"). Arrays are read in both
// forms, name[]=a and name[0]=a (the one stripe-go v76 sends). Tests should assert the status,
// type, code and param; messages Stripe does not document (too many types, type with types) are
// the double's own words.
//
// A request is answered in this order: authentication (401), then a pending 429 (see Rate
// limits), then the route and its parameters. Every answer carries a Request-Id header, and
// every request is kept for [Server.Requests], refused ones included.
//
// # Events
//
// GET /v1/events takes the list parameters and type (one name, * matching any run of
// characters, so "customer.*" also matches "customer.subscription.created"), types[] (at most
// 20 names; type and types together are a 400) and delivery_success (true: events whose
// [Event.Delivered] is set; false: the others). GET /v1/events/{id} retrieves one. Stripe
// keeps events 30 days: events created before now minus [Options.Retention] are neither
// listed nor found, as if they were never stored. The stored JSON is served verbatim; the
// double does not rewrite pending_webhooks to agree with Delivered.
//
// # Objects
//
// GET /v1/{kind} and GET /v1/{kind}/{id} for customers, payment_intents, invoices,
// subscriptions, products, prices, charges and checkout/sessions ([Kinds]), with the list
// parameters and the filters stripe-go v76's ListParams of that kind can send (customers:
// email, test_clock; invoices: customer, status, subscription, ...), each compared with the
// stored object's field of that name (an expanded object by its id). As Stripe documents, subscriptions without status exclude canceled ones; status=all lists every one
// and status=ended the canceled and incomplete_expired ones.
//
// # Errors
//
// A missing or wrong key answers 401 with Stripe's message ("You did not provide an API
// key..." or "Invalid API Key provided: sk_test_****abcd") and WWW-Authenticate. A path or
// method the double does not serve answers 404 "Unrecognized request URL (POST: /v1/x)": it
// serves GET only.
//
// # Rate limits
//
// [Server.RateLimitNext] makes the next n authenticated requests answer as Stripe's rate
// limiter does (https://docs.stripe.com/rate-limits): 429, header Stripe-Rate-Limited-Reason:
// global-rate, code rate_limit, and neither Retry-After (Stripe documents none) nor
// Stripe-Should-Retry. stripe-go v76 therefore does not retry them (its shouldRetry retries a
// 429 only with code lock_timeout or Stripe-Should-Retry: true): the caller sees a *stripe.Error
// with HTTPStatusCode 429 and must back off itself. [Server.LockTimeoutNext] makes the next n
// requests answer Stripe's other 429, code lock_timeout (an object locked by another
// request), which stripe-go does retry up to MaxNetworkRetries, sleeping 0.5 s and more
// between tries.
package stripeapi

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultRetention is how long Stripe keeps events listable: 30 days.
const DefaultRetention = 30 * 24 * time.Hour

// Options configure [Start]; nil means the zero value.
type Options struct {
	// Key is the secret key the double accepts. Empty: a generated sk_test_ key.
	Key string
	// Now is the clock events' retention is measured against. Nil: time.Now.
	Now func() time.Time
	// Retention is how far back events are kept. Zero: DefaultRetention; negative: forever.
	Retention time.Duration
}

// Request is one request the double received.
type Request struct {
	Method        string
	Path          string
	RawQuery      string
	Query         url.Values
	StripeVersion string // the Stripe-Version header
	Status        int    // the status the double answered
}

// Server is a running double. Its methods are safe for concurrent use.
type Server struct {
	t         testing.TB
	srv       *httptest.Server
	key       string
	now       func() time.Time
	retention time.Duration

	mu         sync.Mutex
	seq        int64 // entries added
	served     int64 // requests answered, for Request-Id
	events     collection
	objects    map[string]*collection // by kind
	requests   []Request
	rateLimits int
	lockLimits int
}

// Start starts a double on a free port of 127.0.0.1 and closes it when t ends.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{t: t, key: opts.Key, now: opts.Now, retention: opts.Retention,
		objects: map[string]*collection{}}
	if s.key == "" {
		s.key = "sk_test_" + rand.Text()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention == 0 {
		s.retention = DefaultRetention
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the base URL to give stripe-go as its API backend URL (BackendConfig.URL),
// http://127.0.0.1:PORT, without /v1.
func (s *Server) URL() string { return s.srv.URL }

// Key returns the secret key the double accepts.
func (s *Server) Key() string { return s.key }

// Requests returns every request received so far, in order, including refused ones.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	for i := range out {
		out[i].Query = cloneValues(out[i].Query)
	}
	return out
}

// RateLimitNext makes the next n authenticated requests answer Stripe's rate-limit 429 (see
// the package doc), in addition to any already pending.
func (s *Server) RateLimitNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimits += max(n, 0)
}

// LockTimeoutNext makes the next n authenticated requests (after any pending rate limits)
// answer Stripe's lock_timeout 429, which stripe-go retries.
func (s *Server) LockTimeoutNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lockLimits += max(n, 0)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status, body, header := s.answer(r)
	s.mu.Lock()
	s.served++
	rid := "req_" + strconv.FormatInt(s.served, 10)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Query: cloneValues(r.URL.Query()), StripeVersion: r.Header.Get("Stripe-Version"), Status: status})
	s.mu.Unlock()
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", rid)
	if v := r.Header.Get("Stripe-Version"); v != "" {
		w.Header().Set("Stripe-Version", v)
	}
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// answer decides the response to r: authentication, pending 429s, then the route.
func (s *Server) answer(r *http.Request) (int, []byte, http.Header) {
	if e := s.authenticate(r); e != nil {
		return e.status, e.body(), e.header
	}
	s.mu.Lock()
	var limited *apiError
	switch {
	case s.rateLimits > 0:
		s.rateLimits--
		limited = rateLimited()
	case s.lockLimits > 0:
		s.lockLimits--
		limited = lockTimeout()
	}
	s.mu.Unlock()
	if limited != nil {
		return limited.status, limited.body(), limited.header
	}
	body, e := s.route(r)
	if e != nil {
		return e.status, e.body(), e.header
	}
	return http.StatusOK, body, nil
}

// authenticate accepts the key as a bearer token or as the user name of HTTP basic auth, as
// Stripe does.
func (s *Server) authenticate(r *http.Request) *apiError {
	key, ok := "", false
	if user, _, basic := r.BasicAuth(); basic {
		key, ok = user, true
	} else if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		key, ok = strings.TrimSpace(strings.TrimPrefix(h, "Bearer ")), true
	}
	if !ok || key == "" {
		return missingKey()
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.key)) != 1 {
		return invalidKey(key)
	}
	return nil
}

// route serves GET /v1/events[/id] and GET /v1/{kind}[/id].
func (s *Server) route(r *http.Request) ([]byte, *apiError) {
	if r.Method != http.MethodGet {
		return nil, unrecognizedURL(r)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		return nil, unrecognizedURL(r)
	}
	if rest == "events" {
		return s.listEvents(r.URL.RawQuery)
	}
	if id, ok := strings.CutPrefix(rest, "events/"); ok && id != "" && !strings.Contains(id, "/") {
		return s.retrieveEvent(id, r.URL.RawQuery)
	}
	for name, k := range kinds {
		if rest == name {
			return s.listObjects(name, k, r.URL.RawQuery)
		}
		if id, ok := strings.CutPrefix(rest, name+"/"); ok && id != "" && !strings.Contains(id, "/") {
			return s.retrieveObject(name, k, id, r.URL.RawQuery)
		}
	}
	return nil, unrecognizedURL(r)
}

// retrieveSpecs are the parameters of a retrieve call.
func retrieveSpecs() map[string]paramSpec {
	return map[string]paramSpec{"expand": {kind: kindArray}}
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
