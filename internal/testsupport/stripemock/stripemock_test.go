package stripemock_test

import (
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/internal/testsupport/stripemock"
)

func newClient(baseURL string) *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(baseURL),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	sc := &client.API{}
	sc.Init(stripemock.Key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
	return sc
}

// recoverParams are the parameters hookline recover sends to GET /v1/events.
func recoverParams() *stripe.EventListParams {
	now := time.Now()
	return &stripe.EventListParams{
		ListParams: stripe.ListParams{
			Limit:         stripe.Int64(100),
			StartingAfter: stripe.String("evt_1NG8Du2eZvKYlo2CUI79vXWy"),
			Single:        true,
		},
		CreatedRange: &stripe.RangeQueryParams{
			GreaterThanOrEqual: now.Add(-24 * time.Hour).Unix(),
			LesserThanOrEqual:  now.Unix(),
		},
		Types:           stripe.StringSlice([]string{"customer.created", "customer.updated", "invoice.paid"}),
		DeliverySuccess: stripe.Bool(false),
	}
}

func TestEventsListAcceptsRecoverParameters(t *testing.T) {
	sc := newClient(stripemock.Start(t))
	it := sc.Events.List(recoverParams())
	n := 0
	for it.Next() {
		if ev := it.Event(); ev.ID == "" || ev.Object != "event" {
			t.Fatalf("event %+v", ev)
		}
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("stripe-mock refused the parameters recover sends: %v", err)
	}
	if n == 0 || it.EventList().URL != "/v1/events" {
		t.Fatalf("listed %d events from %q", n, it.EventList().URL)
	}

	// The variant with one type instead of a list, and ending_before, is accepted too.
	p := &stripe.EventListParams{Type: stripe.String("customer.*"),
		ListParams: stripe.ListParams{Limit: stripe.Int64(1), EndingBefore: stripe.String("evt_1"), Single: true}}
	if it := sc.Events.List(p); !it.Next() || it.Err() != nil {
		t.Fatalf("type and ending_before: %v", it.Err())
	}
}

func TestCustomersListAcceptsBackfillParameters(t *testing.T) {
	sc := newClient(stripemock.Start(t))
	p := &stripe.CustomerListParams{
		ListParams:   stripe.ListParams{Limit: stripe.Int64(100), StartingAfter: stripe.String("cus_1"), Single: true},
		CreatedRange: &stripe.RangeQueryParams{LesserThanOrEqual: time.Now().Unix()},
	}
	it := sc.Customers.List(p)
	if !it.Next() || it.Err() != nil || it.Customer().Object != "customer" {
		t.Fatalf("customers list: %v", it.Err())
	}
}

// stripe-mock's check can fail: an unknown parameter and a wrong type are refused.
func TestRejectsWhatStripeWouldRefuse(t *testing.T) {
	sc := newClient(stripemock.Start(t))
	unknown := recoverParams()
	unknown.Filters.AddFilter("delivered", "", "false") // not a parameter of GET /v1/events
	wrongType := &stripe.EventListParams{}
	wrongType.Filters.AddFilter("delivery_success", "", "maybe")
	notArray := &stripe.EventListParams{}
	notArray.Filters.AddFilter("types", "", "customer.created") // types must be an array
	for name, p := range map[string]*stripe.EventListParams{"unknown parameter": unknown, "wrong type": wrongType, "not an array": notArray} {
		it := sc.Events.List(p)
		for it.Next() {
		}
		var se *stripe.Error
		if !errors.As(it.Err(), &se) || se.HTTPStatusCode != http.StatusBadRequest ||
			se.Type != stripe.ErrorTypeInvalidRequest || !strings.HasPrefix(se.Msg, "Request validation error") {
			t.Errorf("%s: %v, want a 400 request validation error", name, it.Err())
		}
	}
}

// The version this package expects is the one the install script pins.
func TestVersionMatchesInstallScript(t *testing.T) {
	b, err := os.ReadFile("../../../scripts/install-stripe-mock.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^version=(\S+)$`).FindSubmatch(b)
	if m == nil || string(m[1]) != stripemock.Version {
		t.Fatalf("scripts/install-stripe-mock.sh pins %q, stripemock.Version is %s", m, stripemock.Version)
	}
}
