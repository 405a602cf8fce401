package stripeapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

func TestCustomersListAllPages(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var added []string
	for i := range 35 {
		id := "cus_" + itoa(i)
		srv.AddObject("customers", stripeapi.NewCustomer(id, t0.Add(time.Duration(i/10)*time.Second)))
		added = append(added, id)
	}
	sc := newClient(srv, srv.Key(), 0)
	got, err := ids(sc.Customers.List(&stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(10)}}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, reversed(added)) {
		t.Fatalf("listed %v", got)
	}
	seen := map[string]bool{}
	for _, r := range srv.Requests() {
		if r.Path != "/v1/customers" || seen[r.RawQuery] {
			t.Fatalf("request %+v repeated or misplaced", r)
		}
		seen[r.RawQuery] = true
	}
	if len(seen) != 4 {
		t.Fatalf("%d pages asked, want 4", len(seen))
	}

	c, err := sc.Customers.Get("cus_7", nil)
	if err != nil || c.ID != "cus_7" || c.Email == "" || c.Created != t0.Unix() {
		t.Fatalf("retrieve: %+v, %v", c, err)
	}
	_, err = sc.Customers.Get("cus_none", nil)
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusNotFound || se.Msg != "No such customer: 'cus_none'" {
		t.Fatalf("retrieve missing: %+v", se)
	}
}

func TestCustomersFilters(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	srv.AddObject("customers", map[string]any{"id": "cus_a", "object": "customer", "created": t0.Unix(), "email": "a@example.com"})
	srv.AddObject("customers", map[string]any{"id": "cus_b", "object": "customer", "created": t0.Unix() + 10, "email": "b@example.com"})
	srv.AddObject("customers", `{"id":"cus_c","object":"customer","created":`+itoa(int(t0.Unix())+20)+`,"email":"a@example.com"}`)
	sc := newClient(srv, srv.Key(), 0)
	cases := []struct {
		name   string
		params *stripe.CustomerListParams
		want   []string
	}{
		{"email", &stripe.CustomerListParams{Email: stripe.String("a@example.com")}, []string{"cus_c", "cus_a"}},
		{"created", &stripe.CustomerListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThan: t0.Unix(), LesserThan: t0.Unix() + 20}}, []string{"cus_b"}},
		{"expand", &stripe.CustomerListParams{Expand: stripe.StringSlice([]string{"data.default_source"})}, []string{"cus_c", "cus_b", "cus_a"}},
	}
	for _, tc := range cases {
		if got, err := ids(sc.Customers.List(tc.params)); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	// An update replaces the object in place.
	srv.AddObject("customers", map[string]any{"id": "cus_a", "object": "customer", "created": t0.Unix(), "email": "new@example.com"})
	if got, _ := ids(sc.Customers.List(&stripe.CustomerListParams{Email: stripe.String("new@example.com")})); !slices.Equal(got, []string{"cus_a"}) {
		t.Errorf("after update: %v", got)
	}
	if got, _ := ids(sc.Customers.List(nil)); !slices.Equal(got, []string{"cus_c", "cus_b", "cus_a"}) {
		t.Errorf("order after update: %v", got)
	}
	// A filter of another kind is an unknown parameter here.
	if status, _, body := get(t, srv, "/v1/customers?status=active", srv.Key()); status != http.StatusBadRequest ||
		body.Error.Message != "Received unknown parameter: status" {
		t.Errorf("customers?status: %d %+v", status, body.Error)
	}
}

func TestSubscriptionsStatus(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	base := time.Now().Add(-time.Hour).Unix()
	for i, st := range []string{"active", "canceled", "past_due", "incomplete_expired"} {
		srv.AddObject("subscriptions", map[string]any{"id": "sub_" + st, "object": "subscription", "created": base + int64(i),
			"status": st, "customer": "cus_1",
			"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_" + st, "price": map[string]any{"id": "price_" + st}}}}})
	}
	sc := newClient(srv, srv.Key(), 0)
	cases := []struct {
		status string
		want   []string
	}{
		{"", []string{"sub_incomplete_expired", "sub_past_due", "sub_active"}},
		{"all", []string{"sub_incomplete_expired", "sub_past_due", "sub_canceled", "sub_active"}},
		{"ended", []string{"sub_incomplete_expired", "sub_canceled"}},
		{"canceled", []string{"sub_canceled"}},
	}
	for _, tc := range cases {
		p := &stripe.SubscriptionListParams{Customer: stripe.String("cus_1")}
		if tc.status != "" {
			p.Status = stripe.String(tc.status)
		}
		if got, err := ids(sc.Subscriptions.List(p)); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("status %q: %v, %v; want %v", tc.status, got, err, tc.want)
		}
	}
	p := &stripe.SubscriptionListParams{Price: stripe.String("price_past_due")}
	if got, err := ids(sc.Subscriptions.List(p)); err != nil || !slices.Equal(got, []string{"sub_past_due"}) {
		t.Errorf("price: %v, %v", got, err)
	}
}

// Every kind is listed through stripe-go's own List call for it.
func TestEveryKindThroughStripeGo(t *testing.T) {
	srv := stripeapi.Start(t, nil)
	created := time.Now().Unix()
	objects := map[string][2]string{ // kind: object, id
		"customers": {"customer", "cus_1"}, "payment_intents": {"payment_intent", "pi_1"},
		"invoices": {"invoice", "in_1"}, "subscriptions": {"subscription", "sub_1"},
		"products": {"product", "prod_1"}, "prices": {"price", "price_1"},
		"charges": {"charge", "ch_1"}, "checkout/sessions": {"checkout.session", "cs_test_1"},
	}
	if got := stripeapi.Kinds(); len(got) != len(objects) {
		t.Fatalf("Kinds() = %v", got)
	}
	for kind, o := range objects {
		srv.AddObject(kind, map[string]any{"id": o[1], "object": o[0], "created": created, "status": "active", "active": true})
	}
	sc := newClient(srv, srv.Key(), 0)
	lists := map[string]iterator{
		"customers":         sc.Customers.List(&stripe.CustomerListParams{}),
		"payment_intents":   sc.PaymentIntents.List(&stripe.PaymentIntentListParams{}),
		"invoices":          sc.Invoices.List(&stripe.InvoiceListParams{Status: stripe.String("active")}),
		"subscriptions":     sc.Subscriptions.List(&stripe.SubscriptionListParams{Status: stripe.String("all")}),
		"products":          sc.Products.List(&stripe.ProductListParams{Active: stripe.Bool(true)}),
		"prices":            sc.Prices.List(&stripe.PriceListParams{Active: stripe.Bool(true)}),
		"charges":           sc.Charges.List(&stripe.ChargeListParams{}),
		"checkout/sessions": sc.CheckoutSessions.List(&stripe.CheckoutSessionListParams{}),
	}
	for kind, it := range lists {
		if got, err := ids(it); err != nil || !slices.Equal(got, []string{objects[kind][1]}) {
			t.Errorf("%s: %v, %v", kind, got, err)
		}
	}
	if got, err := ids(sc.Products.List(&stripe.ProductListParams{Active: stripe.Bool(false)})); err != nil || len(got) != 0 {
		t.Errorf("inactive products: %v, %v", got, err)
	}
}
