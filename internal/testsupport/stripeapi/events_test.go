package stripeapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

func TestEventsAutoPaginationManyInOneSecond(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	now := time.Now().Truncate(time.Second)
	older := addEvents(srv, "cus_old", 30, now.Add(-time.Hour), true)
	same := addEvents(srv, "cus_same", 150, now.Add(-time.Minute), false) // one second, 150 events
	newer := addEvents(srv, "cus_new", 5, now, true)
	want := slices.Concat(reversed(newer), reversed(same), reversed(older))

	sc := newClient(srv, srv.Key(), 0)
	got, err := ids(sc.Events.List(&stripe.EventListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(100)}}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %d events, want %d in order (created descending, last added first)", len(got), len(want))
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 pages of 100", len(reqs))
	}
	if reqs[0].RawQuery != "limit=100" || reqs[1].Query.Get("starting_after") != got[99] {
		t.Errorf("pages asked %q then %q", reqs[0].RawQuery, reqs[1].RawQuery)
	}
	for _, r := range reqs {
		if r.Method != http.MethodGet || r.Path != "/v1/events" || r.Status != http.StatusOK || r.StripeVersion != stripe.APIVersion {
			t.Errorf("request %+v", r)
		}
	}
}

func TestEventsEndingBeforeWalksTowardNewer(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	now := time.Now().Truncate(time.Second)
	evs := addEvents(srv, "cus_x", 25, now, true) // list order: evs[24] ... evs[0]
	sc := newClient(srv, srv.Key(), 0)
	params := &stripe.EventListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(10), EndingBefore: stripe.String(evs[3])}}
	got, err := ids(sc.Events.List(params))
	if err != nil {
		t.Fatal(err)
	}
	// stripe-go yields a backward walk from the cursor: evs[4], evs[5], ..., evs[24].
	if want := evs[4:]; !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// The first page holds the 10 events just newer than the cursor, newest first.
	single := &stripe.EventListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(10), EndingBefore: stripe.String(evs[3]), Single: true}}
	it := sc.Events.List(single)
	page, err := ids(it)
	if err != nil {
		t.Fatal(err)
	}
	if want := reversed(evs[4:14]); !slices.Equal(reversed(page), want) || !it.EventList().HasMore {
		t.Fatalf("first page %v (has_more %v), want %v", page, it.EventList().HasMore, want)
	}
}

func TestEventsFilters(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	add := func(typ, cus string, at time.Time, delivered bool) string {
		ev := stripeapi.NewEvent(typ, cus, at)
		ev.Delivered = delivered
		srv.AddEvent(ev)
		return ev.ID()
	}
	a := add("customer.created", "cus_a", t0, true)
	b := add("customer.updated", "cus_a", t0.Add(time.Second), false)
	c := add("customer.subscription.created", "cus_b", t0.Add(2*time.Second), true)
	d := add("invoice.paid", "cus_b", t0.Add(3*time.Second), false)
	sc := newClient(srv, srv.Key(), 0)
	n := t0.Unix()
	cases := []struct {
		name   string
		params *stripe.EventListParams
		want   []string
	}{
		{"all", &stripe.EventListParams{}, []string{d, c, b, a}},
		{"created exact", &stripe.EventListParams{Created: stripe.Int64(n + 1)}, []string{b}},
		{"created gte lte", &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: n + 1, LesserThanOrEqual: n + 2}}, []string{c, b}},
		{"created gt lt", &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThan: n, LesserThan: n + 3}}, []string{c, b}},
		{"types", &stripe.EventListParams{Types: stripe.StringSlice([]string{"customer.created", "invoice.paid"})}, []string{d, a}},
		{"type exact", &stripe.EventListParams{Type: stripe.String("customer.updated")}, []string{b}},
		{"type wildcard", &stripe.EventListParams{Type: stripe.String("customer.*")}, []string{c, b, a}},
		{"type inner wildcard", &stripe.EventListParams{Type: stripe.String("customer.*.created")}, []string{c}},
		{"undelivered", &stripe.EventListParams{DeliverySuccess: stripe.Bool(false)}, []string{d, b}},
		{"delivered", &stripe.EventListParams{DeliverySuccess: stripe.Bool(true)}, []string{c, a}},
		{"combined", &stripe.EventListParams{DeliverySuccess: stripe.Bool(false), Types: stripe.StringSlice([]string{"customer.updated"}),
			CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: n}}, []string{b}},
	}
	for _, tc := range cases {
		got, err := ids(sc.Events.List(tc.params))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	srv.SetDelivered(d, true)
	if got, _ := ids(sc.Events.List(&stripe.EventListParams{DeliverySuccess: stripe.Bool(false)})); !slices.Equal(got, []string{b}) {
		t.Errorf("after SetDelivered: undelivered %v, want [%s]", got, b)
	}
}

// TestStripeGoWireShape records how stripe-go v76 encodes the parameters recover sends, which
// is what the double parses.
func TestStripeGoWireShape(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	sc := newClient(srv, srv.Key(), 0)
	params := &stripe.EventListParams{
		CreatedRange:    &stripe.RangeQueryParams{GreaterThanOrEqual: 100, LesserThanOrEqual: 200},
		Types:           stripe.StringSlice([]string{"a.b", "c.d"}),
		DeliverySuccess: stripe.Bool(false),
		ListParams:      stripe.ListParams{Limit: stripe.Int64(100), StartingAfter: stripe.String("evt_1")},
	}
	ids(sc.Events.List(params)) // evt_1 is unknown: a 400, the shape is what matters
	reqs := srv.Requests()
	want := "limit=100&starting_after=evt_1&created[gte]=100&created[lte]=200&delivery_success=false&types[0]=a.b&types[1]=c.d"
	if len(reqs) != 1 || reqs[0].RawQuery != want {
		t.Fatalf("requests %+v, want one with query %s", reqs, want)
	}
}

func TestEventsRetrieve(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	ev := stripeapi.NewEvent("customer.updated", "cus_r", time.Now())
	srv.AddEvent(ev)
	sc := newClient(srv, srv.Key(), 0)
	got, err := sc.Events.Get(ev.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ev.ID() || got.Type != "customer.updated" || got.Data == nil || got.Data.Object["id"] != "cus_r" {
		t.Fatalf("retrieved %+v", got)
	}
	_, err = sc.Events.Get("evt_missing", nil)
	se := stripeError(t, err)
	if se.HTTPStatusCode != http.StatusNotFound || se.Code != stripe.ErrorCodeResourceMissing || se.Msg != "No such event: 'evt_missing'" {
		t.Fatalf("missing event: %+v", se)
	}
}

func TestEventsRetention(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := stripeapi.Start(t, &stripeapi.Options{Now: func() time.Time { return now }})
	old := stripeapi.NewEvent("customer.created", "cus_old", now.Add(-31*24*time.Hour))
	kept := stripeapi.NewEvent("customer.created", "cus_kept", now.Add(-29*24*time.Hour))
	srv.AddEvent(old)
	srv.AddEvent(kept)
	sc := newClient(srv, srv.Key(), 0)
	if got, err := ids(sc.Events.List(nil)); err != nil || !slices.Equal(got, []string{kept.ID()}) {
		t.Fatalf("listed %v, %v; want only the event younger than 30 days", got, err)
	}
	if _, err := sc.Events.Get(old.ID(), nil); stripeError(t, err).HTTPStatusCode != http.StatusNotFound {
		t.Fatalf("an event past retention was found")
	}

	forever := stripeapi.Start(t, &stripeapi.Options{Now: func() time.Time { return now }, Retention: -1})
	forever.AddEvent(old)
	if got, _ := ids(newClient(forever, forever.Key(), 0).Events.List(nil)); len(got) != 1 {
		t.Fatalf("with Retention -1 listed %v", got)
	}
}

func TestUnknownCursor(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	addEvents(srv, "cus", 3, time.Now(), true)
	sc := newClient(srv, srv.Key(), 0)
	for _, lp := range []stripe.ListParams{{StartingAfter: stripe.String("evt_nope")}, {EndingBefore: stripe.String("evt_nope")}} {
		_, err := ids(sc.Events.List(&stripe.EventListParams{ListParams: lp}))
		se := stripeError(t, err)
		param := "starting_after"
		if lp.EndingBefore != nil {
			param = "ending_before"
		}
		if se.HTTPStatusCode != http.StatusBadRequest || se.Code != stripe.ErrorCodeResourceMissing ||
			se.Param != param || se.Msg != "No such event: 'evt_nope'" || se.Type != stripe.ErrorTypeInvalidRequest {
			t.Errorf("unknown %s: %+v", param, se)
		}
	}
}

func TestUnknownParameter(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	sc := newClient(srv, srv.Key(), 0)
	params := &stripe.EventListParams{}
	params.Filters.AddFilter("x", "", "1")
	_, err := ids(sc.Events.List(params))
	se := stripeError(t, err)
	if se.HTTPStatusCode != http.StatusBadRequest || se.Type != stripe.ErrorTypeInvalidRequest ||
		se.Msg != "Received unknown parameter: x" || se.Param != "x" {
		t.Fatalf("unknown parameter: %+v", se)
	}
}

func TestParameterChecks(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	ev := stripeapi.NewEvent("a.b", "cus_1", time.Now())
	srv.AddEvent(ev)
	many := make([]string, 21)
	for i := range many {
		many[i] = "types[]=t" + itoa(i)
	}
	cases := []struct{ query, param, message string }{
		{"limit=0", "limit", "This value must be greater than or equal to 1."},
		{"limit=101", "limit", "This value must be less than or equal to 100."},
		{"limit=ten", "limit", "Invalid integer: ten"},
		{"created[gte]=soon", "created[gte]", "Invalid integer: soon"},
		{"created[after]=1", "created[after]", "Received unknown parameter: created[after]"},
		{"delivery_success=maybe", "delivery_success", "Invalid boolean: maybe"},
		{"types=a.b", "types", "Invalid array"},
		{strings.Join(many, "&"), "types", "Array types exceeded maximum 20 allowed elements."},
		{"type=a.b&types[]=a.b", "types", "You may pass either type or types, but not both."},
		{"starting_after=" + ev.ID() + "&ending_before=" + ev.ID(), "starting_after", "You may only specify one of these parameters: ending_before, starting_after."},
		{"expand[]=customer", "expand", "This property cannot be expanded (customer). You may want to try expanding 'data.customer' instead."},
	}
	for _, tc := range cases {
		status, _, body := get(t, srv, "/v1/events?"+tc.query, srv.Key())
		if status != http.StatusBadRequest || body.Error.Param != tc.param || body.Error.Message != tc.message ||
			body.Error.Type != "invalid_request_error" {
			t.Errorf("%.60s: %d %+v, want 400 %q on %s", tc.query, status, body.Error, tc.message, tc.param)
		}
	}
	for _, ok := range []string{"limit=1", "limit=100", "types[]=a.b&types[]=c", "types[1]=c&types[0]=a.b", "expand[]=data.request", "created=1"} {
		if status, _, body := get(t, srv, "/v1/events?"+ok, srv.Key()); status != http.StatusOK {
			t.Errorf("%s: %d %+v", ok, status, body.Error)
		}
	}
	if status, _, body := get(t, srv, "/v1/nothing", srv.Key()); status != http.StatusNotFound ||
		!strings.HasPrefix(body.Error.Message, "Unrecognized request URL (GET: /v1/nothing)") {
		t.Errorf("unknown path: %d %+v", status, body.Error)
	}
}

func TestAuthentication(t *testing.T) {
	srv := stripeapi.Start(t, &stripeapi.Options{Key: "sk_test_double_key_1234"})
	_, err := ids(newClient(srv, "sk_test_wrong_key_9876", 2).Events.List(nil))
	se := stripeError(t, err)
	if se.HTTPStatusCode != http.StatusUnauthorized || se.Type != stripe.ErrorTypeInvalidRequest ||
		se.Msg != "Invalid API Key provided: sk_test_**********9876" {
		t.Fatalf("wrong key: %+v", se)
	}
	status, header, body := get(t, srv, "/v1/events", "")
	if status != http.StatusUnauthorized || !strings.HasPrefix(body.Error.Message, "You did not provide an API key.") ||
		header.Get("Www-Authenticate") == "" {
		t.Fatalf("no key: %d %+v %v", status, body.Error, header)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/v1/events", nil)
	req.SetBasicAuth(srv.Key(), "")
	if status, _, body := do(t, req); status != http.StatusOK {
		t.Fatalf("basic auth with the key: %d %+v", status, body.Error)
	}
	if got := len(srv.Requests()); got != 3 {
		t.Fatalf("%d requests recorded, want 3 (stripe-go does not retry a 401)", got)
	}
}
